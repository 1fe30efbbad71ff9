"""Content-aware (L7) load balancing: request parsing, content rules, locality-aware
scheduling, SYN cookies and the sequence arithmetic of TCP splicing."""
