-- The remote's version of a linked record (an ETag, for instance), as last read or written:
-- sent back with the next update so the remote refuses it if the record changed meanwhile.
ALTER TABLE conveyor_sync_links ADD COLUMN remote_version TEXT;
