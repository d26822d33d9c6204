"""Network building blocks for probes: connections, TLS details and a lean HTTP/1.1 client."""
