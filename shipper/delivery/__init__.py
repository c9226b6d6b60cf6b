"""Delivery: the agent that turns captured records into documents and sends them.

One agent per spool directory (`agent.lock`), shared by every program and forked child writing
there. Rule: delivery reads what capture wrote only through `shipper.spool` (segment format, record
payloads, acknowledgement files); it never imports `shipper.capture` or the handler.
"""
