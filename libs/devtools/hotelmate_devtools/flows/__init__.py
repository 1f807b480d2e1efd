"""Shared guest/desk/burst flows driven through the gateway, used by e2e, chaos and security tests and by bench."""
