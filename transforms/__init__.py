"""Pure Polars transforms: frames in, frames out, no I/O.

Each table's recipe lives in the module named after it (``stg_sentences``,
``fct_metric`` ...). Reference data (units, qualifiers, ...) arrives as frames
loaded by ``flows.warehouse.reference``; nothing here opens a file or a connection.
"""
