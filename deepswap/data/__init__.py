"""Data: the synthetic face world, identity folders, swap pairs and the datamodule."""
