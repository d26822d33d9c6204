"""A small asyncio SIP user agent (RFC 3261 UAC): messages, transports, transactions, digest, dialogs, SDP."""
