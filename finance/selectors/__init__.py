"""Reads shared by the API, the admin, the commands and the services, one module per domain."""
