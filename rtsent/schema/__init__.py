"""What a record and a case id are: the record's fields, types and ranges, the label encoding, reading
and writing result documents (records); the one case-id grammar (caseid); value constraints (ranges).

The bottom layer: imports nothing else of rtsent, and no torch (the reporter reads records with it).
"""
