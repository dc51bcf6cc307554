"""The adapters, one module per way of sending: the local record, SMTP, and HTTP APIs."""
