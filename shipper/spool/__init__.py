"""The spool: the on-disk segment format shared by capture (writes) and delivery (reads).

Rule: this package imports neither `shipper.capture` nor `shipper.delivery`; both import it.
"""

from shipper.spool.bulk import SpooledEvent

__all__ = ["SpooledEvent"]
