"""logloop: the command line that ties the shipper, the analyzers and the Kibana objects together."""
