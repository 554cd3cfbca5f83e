// hello: the Go service of the Jenkins + Ansible example. GET / greets, GET /healthz is the probe.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
)

// Greeting is what GET / answers for a name.
func Greeting(name string) string {
	if name == "" {
		name = "world"
	}
	return fmt.Sprintf("hello, %s", name)
}

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, Greeting(r.URL.Query().Get("name")))
	})
	http.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	log.Fatal(http.ListenAndServe(":"+port, nil))
}
