"""The VC Controller: occtr routes, use cases, store, worker and cloud backends."""
