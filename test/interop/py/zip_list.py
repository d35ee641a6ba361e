"""Lists a zip with Python's zipfile (an independent reader): name, size, CRC and SHA-256 of each entry."""
import hashlib
import json
import sys
import zipfile

with zipfile.ZipFile(sys.argv[1]) as z:
    bad = z.testzip()
    if bad is not None:
        sys.exit(f'zipfile: bad CRC in {bad}')
    print(json.dumps([{'name': i.filename, 'size': i.file_size, 'crc': i.CRC, 'offset': i.header_offset,
                       'sha256': hashlib.sha256(z.read(i)).hexdigest()} for i in z.infolist()]))
