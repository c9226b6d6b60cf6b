"""Capture: a logging record -> a framed record appended to this process's memory-mapped segment.

Everything here runs on the program's threads and must stay cheap; it never imports
`shipper.delivery` (the agent reads what capture writes, through `shipper.spool`).
"""
