"""The notebook layer: the %track magic, rich views and DataFrames (imports IPython)."""
