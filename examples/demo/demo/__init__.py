"""A tiny HTTP service used as Kubeline's example app."""
