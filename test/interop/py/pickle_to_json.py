"""Reads a pickle from stdin with Python's own pickle module and prints make_pickles.py's JSON encoding of it."""
import json
import pickle
import sys

from make_pickles import encode

json.dump(encode(pickle.loads(sys.stdin.buffer.read())), sys.stdout)
