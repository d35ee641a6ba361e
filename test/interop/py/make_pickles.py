"""Pickles of assorted values at protocols 2 to 5, made by Python's own pickler, with the values
in a JSON encoding the tests reproduce from what the TypeScript reader builds:
  int -> {"int": "decimal"}, float -> {"float": x}, bytes -> {"bytes": "hex"},
  list -> {"list": [...]}, tuple -> {"tuple": [...]}, dict -> {"dict": [[k, v], ...]},
  OrderedDict -> {"odict": [[k, v], ...]}; None, bools and strings as themselves.
    python3 test/interop/py/make_pickles.py > test/fixtures/interop/pickles.json
"""
import base64
import json
import pickle
import sys
from collections import OrderedDict


def encode(v):
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, int):
        return {'int': str(v)}
    if isinstance(v, float):
        return {'float': v}
    if isinstance(v, (bytes, bytearray)):
        return {'bytes': bytes(v).hex()}
    if isinstance(v, list):
        return {'list': [encode(x) for x in v]}
    if isinstance(v, tuple):
        return {'tuple': [encode(x) for x in v]}
    if isinstance(v, OrderedDict):
        return {'odict': [[encode(k), encode(x)] for k, x in v.items()]}
    if isinstance(v, dict):
        return {'dict': [[encode(k), encode(x)] for k, x in v.items()]}
    raise TypeError(type(v))


def cases():
    shared = [1, 2]
    common = {
        'ints': [0, 1, -1, 255, 256, 65535, 65536, -2**31, 2**31 - 1, 2**31, -2**31 - 1, 2**53, 2**63 - 1, -2**63,
                 2**100, -(2**100), 10**30, 2**3000],
        'floats': [0.0, 1.5, -2.25, 1e-8, 3.141592653589793, 1e300, 0.1],
        'strs': ['', 'a', 'h\u00e9llo', '\u65e5\u672c\u8a9e', '\U0001F600', 'x' * 300, 'line\nbreak'],
        'nested': ([1, (2, 3)], {'a': {'b': [None, True, False]}}, ()),
        7: 'int key',
        None: 'None key',
        2.5: 'float key',
        'od': OrderedDict([('z', 1), ('a', 2)]),
        'tuples': [(), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4)],
        'shared': [shared, shared],
        'big_list': list(range(1001)),
        'big_dict': {str(i): i for i in range(1001)},
    }
    cases = []
    for protocol in (2, 3, 4, 5):
        value = dict(common)
        if protocol >= 3:
            value['bytes'] = [b'', b'\x00\xff', bytes(range(256)), b'z' * 300]
        if protocol >= 5:
            value['bytearray'] = bytearray(b'ab')
        cases.append({'protocol': protocol, 'pickle': base64.b64encode(pickle.dumps(value, protocol=protocol)).decode(),
                      'value': encode(value)})
    return cases


if __name__ == '__main__':
    json.dump(cases(), sys.stdout)
    sys.stdout.write('\n')
