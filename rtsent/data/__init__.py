"""The labelled text: loading the packaged Rotten Tomatoes files, a folder of split files or a hub
dataset (sources), checking split files (splitfiles), subsets, hashes, tokenization.

May import: rtsent.schema. No model code.
"""
