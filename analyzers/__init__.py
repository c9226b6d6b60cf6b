"""logloop analyzers: error groups, their status and priority, the digest, checks and the scheduler.

Elasticsearch does the heavy lifting (core aggregations only); the modules here build request bodies
(`queries`), send them through one typed access object (`store.Store`: the client, the index prefix
and the one place Elasticsearch errors are translated), page through every group with exact counts
(`group_pages`), keep the group registry (`registry`) and decide status (`lifecycle`) and priority
(`priority`) with pure functions.
"""
