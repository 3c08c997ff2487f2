"""What a working directory keeps between runs (``.reconciler/``): the apply log read back as a
journal, the record of the write-only secrets written, the apply lock."""
