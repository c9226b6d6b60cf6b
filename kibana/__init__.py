"""Kibana saved objects generated from the schema, their importer, and `logloop setup`."""
