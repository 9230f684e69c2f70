"""The affinity domain and its affiliated organisations, with their assigning authorities."""
