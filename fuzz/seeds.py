#!/usr/bin/env python3
"""Writes the hand-made seed corpora of the fuzz targets to fuzz/corpus/<target>/seed-*.

Each seed is a small, well-formed input (real packets, streams, files, jobs, queries) in
the layout its target reads (see connectors/src/fuzzing.rs), so the fuzzer starts from
inputs that get past the first checks and mutates from there. Run from anywhere:
`python3 fuzz/seeds.py`; the files are committed, the fuzzer's own finds are not.
"""
import glob
import os
import struct

FUZZ = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(FUZZ)


def write(target, name, data):
    d = os.path.join(FUZZ, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def part(b):
    """A length byte, then the bytes (the targets' `take_part`)."""
    assert len(b) < 256
    return bytes([len(b)]) + b


# --- MySQL ----------------------------------------------------------------------------

def lenenc(n):
    if n < 251:
        return bytes([n])
    if n < 1 << 16:
        return b"\xfc" + struct.pack("<H", n)
    if n < 1 << 24:
        return b"\xfd" + struct.pack("<I", n)[:3]
    return b"\xfe" + struct.pack("<Q", n)


def lstr(b):
    return lenenc(len(b)) + b


def frame(seq, payload):
    return struct.pack("<I", len(payload))[:3] + bytes([seq & 0xFF]) + payload


def greeting(plugin=b"mysql_native_password", ssl=False):
    caps = (1 << 9) | (1 << 15) | (1 << 3) | (1 << 19) | (1 << 21) | 1 | 4 | (1 << 13) | (1 << 17)
    caps |= (1 << 11) if ssl else 0
    p = b"\x0a" + b"10.11.6-MariaDB\0" + struct.pack("<I", 7) + bytes(range(1, 9)) + b"\0"
    p += struct.pack("<H", caps & 0xFFFF) + b"\x2d" + b"\x02\x00"
    p += struct.pack("<H", caps >> 16) + bytes([21]) + b"\0" * 10
    p += bytes(range(9, 21)) + b"\0" + plugin + b"\0"
    return p


OK = b"\x00\x00\x00\x02\x00\x00\x00"
EOF = b"\xfe\x00\x00\x02\x00"


def column_def(ty, flags=0, name=b"c"):
    c = b"".join(lstr(x) for x in [b"def", b"test", b"t", b"t", name, name])
    return c + b"\x0c" + struct.pack("<HIBHB", 45, 255, ty, flags, 0) + b"\0\0"


def row(cells):
    """A binary row: 0x00, the NULL bitmap (offset 2), the values (already encoded)."""
    bitmap = bytearray((len(cells) + 9) // 8)
    body = b""
    for i, c in enumerate(cells):
        if c is None:
            bitmap[(i + 2) // 8] |= 1 << ((i + 2) % 8)
        else:
            body += c
    return b"\x00" + bytes(bitmap) + body


def date(y, m, d, h=0, mi=0, s=0, us=0):
    if us:
        return bytes([11]) + struct.pack("<HBBBBBI", y, m, d, h, mi, s, us)
    if h or mi or s:
        return bytes([7]) + struct.pack("<HBBBBB", y, m, d, h, mi, s)
    return bytes([4]) + struct.pack("<HBB", y, m, d)


def time(neg, days, h, mi, s, us=0):
    if us:
        return bytes([12]) + struct.pack("<BIBBBI", neg, days, h, mi, s, us)
    return bytes([8]) + struct.pack("<BIBBB", neg, days, h, mi, s)


# (MYSQL_TYPE number, flags, natural Arrow choice in fuzzing::mysql_field, sample values)
MYSQL_COLUMNS = [
    (8, 0, 4, [struct.pack("<q", 7), struct.pack("<q", -1)]),
    (8, 0x20, 8, [struct.pack("<Q", 2**64 - 1)]),
    (3, 0, 3, [struct.pack("<i", -5)]),
    (2, 0, 2, [struct.pack("<h", 300)]),
    (1, 0, 1, [b"\x7f"]),
    (4, 0, 10, [struct.pack("<f", 1.5)]),
    (5, 0, 11, [struct.pack("<d", -2.25)]),
    (246, 0, 12, [lstr(b"-12.50"), lstr(b"0.07")]),
    (246, 0, 14, [lstr(b"123456789012345.1234")]),
    (253, 0, 16, [lstr("née".encode()), lstr(b"")]),
    (252, 0, 17, [lstr(b"\x00\xff\x10")]),
    (10, 0, 18, [date(2024, 2, 29)]),
    (12, 0, 20, [date(2024, 2, 29, 13, 5, 9, 123456), date(1999, 12, 31, 23, 59, 59)]),
    (7, 0, 21, [date(2038, 1, 19, 3, 14, 7)]),
    (11, 0, 19, [time(0, 0, 12, 30, 0, 500), time(1, 1, 2, 3, 4)]),
    (16, 0x20, 9, [lstr(b"\x0f\xff")]),
    (16, 0x20, 0, [lstr(b"\x01")]),
    (13, 0, 2, [struct.pack("<h", 2024)]),
]


def mysql_seeds():
    t = "mysql_wire"
    # Rows straight into the decoder: one column of each kind, then all together.
    for i, (ty, flags, arrow, values) in enumerate(MYSQL_COLUMNS):
        cols = bytes([arrow, ty, 1 if flags & 0x20 else 0])
        packets = b""
        for v in values + [None]:
            p = row([v])
            packets += (bytes([len(p)]) if len(p) < 255 else b"\xff" + struct.pack("<H", len(p))) + p
        write(t, f"rows-{i:02}-type{ty}", b"\x00" + part(cols) + packets)
    mixed = MYSQL_COLUMNS[:4] + MYSQL_COLUMNS[7:8] + MYSQL_COLUMNS[9:10] + MYSQL_COLUMNS[11:13]
    cols = b"".join(bytes([a, ty, 1 if f & 0x20 else 0]) for ty, f, a, _ in mixed)
    packets = b""
    for k in range(3):
        cells = [None if (j + k) % 4 == 0 else vs[0] for j, (_, _, _, vs) in enumerate(mixed)]
        p = row(cells)
        packets += bytes([len(p)]) + p
    write(t, "rows-mixed", b"\x00" + part(cols) + packets)
    # A text value in an integer column, a decimal of 19 digits, a zero date.
    write(t, "rows-text-in-int", b"\x00" + part(bytes([4, 253, 0])) + part(row([lstr(b" 42 ")])))
    write(t, "rows-long-decimal", b"\x00" + part(bytes([14, 246, 0])) + part(row([lstr(b"1234567890123456789")])))
    write(t, "rows-zero-date", b"\x00" + part(bytes([18, 10, 0])) + part(row([b"\x00"])))

    # Whole conversations: greeting, login OK, SET OK, prepare, execute, rows, EOF.
    def conversation(columns, rows, plugin=b"mysql_native_password", ssl=False):
        s = frame(0, greeting(plugin, ssl)) + frame(3, OK) + frame(1, OK)
        n = len(columns)
        prep = [b"\x00" + struct.pack("<IHH", 1, n, 0) + b"\x00\x00\x00"]
        if n:
            prep += [column_def(ty, f) for ty, f, _, _ in columns] + [EOF]
        s += b"".join(frame(i + 1, p) for i, p in enumerate(prep))
        ex = [lenenc(n)] + [column_def(ty, f) for ty, f, _, _ in columns] + [EOF]
        ex += rows + [EOF]
        s += b"".join(frame(i + 1, p) for i, p in enumerate(ex))
        return s

    for i, cols in enumerate([MYSQL_COLUMNS[:3], MYSQL_COLUMNS[5:10], MYSQL_COLUMNS[10:15], MYSQL_COLUMNS[15:]]):
        rows = [row([vs[0] for *_, vs in cols]), row([None] * len(cols)),
                row([vs[-1] for *_, vs in cols])]
        server = conversation(cols, rows)
        write(t, f"conv-{i}-natural", b"\x01" + part(b"") + part(b"") + server)
        write(t, f"conv-{i}-chunked", b"\x01" + part(b"") + part(bytes([0, 6, 2])) + server)
        arrows = bytes(a for _, _, a, _ in cols)
        write(t, f"conv-{i}-typed", b"\x03" + part(arrows) + part(bytes([40])) + server)
        # ssl_mode: preferred against a server that offers TLS (the SSLRequest exchange).
        tls = conversation(cols, rows, ssl=True)
        write(t, f"conv-{i}-starttls", b"\x05" + part(b"") + part(bytes([3])) + tls)
    # caching_sha2_password's fast path, an empty result, an error reply to the prepare.
    s = frame(0, greeting(b"caching_sha2_password")) + frame(2, b"\x01\x03") + frame(3, OK)
    s += frame(1, OK) + frame(1, b"\x00" + struct.pack("<IHH", 1, 0, 0) + b"\0\0\0") + frame(1, OK)
    write(t, "conv-sha2-empty", b"\x03" + part(b"") + part(b"") + s)
    s = frame(0, greeting()) + frame(2, OK) + frame(1, OK)
    s += frame(1, b"\xff\x7a\x04#42S02Table 'test.t' doesn't exist")
    write(t, "conv-error", b"\x01" + part(b"") + part(b"") + s)
    # An auth switch to another plugin.
    s = frame(0, greeting()) + frame(2, b"\xfecaching_sha2_password\0" + bytes(range(20)) + b"\0")
    s += frame(4, b"\x01\x03") + frame(5, OK)
    write(t, "conv-auth-switch", b"\x03" + part(b"") + part(b"") + s)
    # A row split over a 16 MiB packet boundary is too big for a seed; a long text value
    # (three-byte length) is not.
    cols = [MYSQL_COLUMNS[9]]
    server = conversation(cols, [row([lstr(b"x" * 70000)])])
    write(t, "conv-long-text", b"\x01" + part(b"") + part(bytes([255])) + server)


# --- PostgreSQL -----------------------------------------------------------------------

SIG = b"PGCOPY\n\xff\r\n\0"


def copy(rows, trailer=True, ext=b""):
    s = SIG + struct.pack(">II", 0, len(ext)) + ext
    for r in rows:
        s += struct.pack(">h", len(r))
        for v in r:
            s += struct.pack(">i", -1) if v is None else struct.pack(">i", len(v)) + v
    if trailer:
        s += struct.pack(">h", -1)
    return s


def numeric(text):
    """PostgreSQL's binary numeric: base-10000 digits, weight, sign, display scale."""
    neg = text.startswith("-")
    text = text.lstrip("-")
    ip, _, fp = text.partition(".")
    dscale = len(fp)
    ip = ip.lstrip("0")
    ip = "0" * (-len(ip) % 4) + ip
    fp = fp + "0" * (-len(fp) % 4)
    groups = [int(ip[i:i + 4]) for i in range(0, len(ip), 4)]
    weight = len(groups) - 1
    groups += [int(fp[i:i + 4]) for i in range(0, len(fp), 4)]
    while groups and groups[-1] == 0:
        groups.pop()
    while groups and groups[0] == 0:
        groups.pop(0)
        weight -= 1
    if not groups:
        weight = 0
    return struct.pack(">hhHH", len(groups), weight, 0x4000 if neg else 0, dscale) + b"".join(
        struct.pack(">h", g) for g in groups)


def array(elems, elem_oid=23):
    s = struct.pack(">iiiii", 1, int(any(e is None for e in elems)), elem_oid, len(elems), 1)
    for e in elems:
        s += struct.pack(">i", -1) if e is None else struct.pack(">i", len(e)) + e
    return s


# (choice in fuzzing::pg_type, sample values)
PG_COLUMNS = [
    (0, [b"\x01", b"\x00"]),
    (1, [struct.pack(">h", -300)]),
    (2, [struct.pack(">i", 123456)]),
    (3, [struct.pack(">q", -(2**40))]),
    (4, [struct.pack(">f", 1.5)]),
    (5, [struct.pack(">d", float("nan")), struct.pack(">d", 2.5)]),
    (6, [numeric("-12.50"), numeric("0.07"), numeric("99999999.99")]),
    (7, [numeric("12345678901234567890123456789012345678")]),
    (8, [numeric("0.00000000000000000000000000000000000001")]),
    (9, [numeric("3.14159265358979323846264338327950288419716939937510"),
         struct.pack(">hhHH", 0, 0, 0xC000, 0)]),
    (10, ["héllo".encode(), b""]),
    (11, [b"ab   "]),
    (12, [b"\x00\xff"]),
    (13, [struct.pack(">i", 8825), struct.pack(">i", 2**31 - 1)]),
    (14, [struct.pack(">q", 45_296_000_001)]),
    (15, [struct.pack(">q", 777_000_000_000_000)]),
    (16, [struct.pack(">q", -1)]),
    (17, [struct.pack(">qii", 3_723_000_004, 5, 14), struct.pack(">qii", -1, -1, -13)]),
    (18, [bytes(range(16))]),
    (19, [b"\x01{\"a\": [1, 2]}"]),
    (20, [b"{\"b\": null}"]),
    (128 + 2, [array([struct.pack(">i", 5), None, struct.pack(">i", 6)]),
               struct.pack(">iii", 0, 0, 23)]),
    (128 + 10, [array([b"x", b"yz"], 25)]),
    (128 + 6, [array([numeric("1.25")], 1700)]),
]


def pg_seeds():
    t = "pg_copy"
    for choice, values in PG_COLUMNS:
        stream = copy([[v] for v in values] + [[None]])
        write(t, f"type{choice:03}", part(bytes([choice])) + part(b"") + stream)
    mixed = [PG_COLUMNS[i] for i in (2, 6, 10, 13, 15, 17, 18, 21)]
    rows = [[vs[0] for _, vs in mixed], [None] * len(mixed), [vs[-1] for _, vs in mixed]]
    stream = copy(rows)
    cols = bytes(c for c, _ in mixed)
    write(t, "mixed-whole", part(cols) + part(b"") + stream)
    write(t, "mixed-chunked", part(cols) + part(bytes([0, 6, 18, 1])) + stream)
    write(t, "mixed-no-trailer", part(cols) + part(bytes([9])) + copy(rows, trailer=False))
    write(t, "header-extension", part(bytes([2])) + part(b"") + copy([[struct.pack(">i", 1)]], ext=b"abcd"))
    write(t, "empty", part(bytes([2, 10])) + part(bytes([3])) + copy([]))
    write(t, "no-columns", part(b"") + part(b"") + copy([[]]))


# --- CSV ------------------------------------------------------------------------------

def csv_seeds():
    t = "csv_reader"
    body = [
        "id,name,amount,day,flag,price",
        "1,alice,10.5,2024-01-31,true,12.50",
        "2,\"bob, jr\",,2024-02-29,false,-0.07",
        "3,\"say \"\"hi\"\"\",1e3,1999-12-31,,1",
        "",
        "4,,-0.0,2000-01-01,TRUE,99999999.99",
        "5,ünï,NaN,2024-12-01,f,",
    ]
    lf = "\n".join(body) + "\n"
    crlf = "\r\n".join(body) + "\r\n"
    #          opts: delimiter 0-3 (, ; \t |), quote bit 2 (" '), header 8, newlines 16
    write(t, "header-lf", bytes([8, 7, 0x02, 0]) + lf.encode())
    write(t, "header-crlf", bytes([8, 3, 0x13, 1]) + crlf.encode())
    write(t, "no-header-cr", bytes([0, 15, 0x21, 0]) + "\r".join(body[1:]).encode())
    write(t, "semicolon", bytes([9, 5, 0x30, 1]) + lf.replace(",", ";").encode())
    write(t, "tab-quote", bytes([2 | 4, 2, 0x10, 0]) + lf.replace(",", "\t").replace('"', "'").encode())
    write(t, "pipe-last-line-open", bytes([3 | 8, 1, 0x07, 0]) + lf.replace(",", "|").rstrip("\n").encode())
    multi = body[0] + "\n1,\"two\nlines\",1,2024-01-01,true,1\n2,x,2,2024-01-02,false,2\n"
    write(t, "newlines-in-values", bytes([8 | 16, 4, 0x31, 0]) + multi.encode())
    write(t, "newlines-at-cut", bytes([8, 4, 0x31, 0]) + multi.encode())
    write(t, "bad-count", bytes([8, 6, 0x11, 0]) + (lf + "6,x\n").encode())
    write(t, "bad-value", bytes([8, 6, 0x11, 1]) + (lf + "x,y,z,2024-13-01,maybe,1.234\n").encode())
    write(t, "blank-lines", bytes([0, 2, 0x23, 0]) + b"\n\n1,a,1,2024-01-01,true,1\n\r\n\n2,b,2,2024-01-02,false,2\n\n")
    write(t, "empty", bytes([8, 0, 0, 0]))
    write(t, "latin1", bytes([8, 3, 0x22, 0]) + b"id,name,amount,day,flag,price\n1,caf\xe9,1,2024-01-01,true,1\n")


# --- Jobs -----------------------------------------------------------------------------

JOBS = {
    "postgres-to-mysql": """name: pg_to_my
input:
  type: postgres
  url: postgres://fust:${secret:pw}@db:5432/shop
  table: public.orders
  partition_column: id
  partitions: 4
  cursor_column: updated_at
pipeline:
  processors:
    - type: filter
      condition: "amount > 0"
output:
  type: mysql
  host: mysql
  port: 3306
  user: fust
  password: ${secret:pw}
  database: shop
  table: orders
  write_mode: upsert
  key_columns: [id]
  pre_sql: ["DELETE FROM orders WHERE 1 = 0"]
""",
    "settings-schedule": """name: nightly
input: {type: json, path: "in/*.json"}
output: {type: console}
settings:
  batch_size: 4096
  memory_limit: 512MiB
  parallelism: 2
  preserve_order: true
schedule:
  cron: "0 3 * * *"
  timezone: Europe/Paris
  overlap: skip
  max_retries: 3
  retry_backoff: 30s
""",
    "anchors-and-env": """name: &n ${FUST_FUZZ_NAME:-anchored}
input: &in
  type: csv
  path: ${FUST_FUZZ_DIR:-data}/a.csv
  schema: {id: BIGINT, price: "DECIMAL(10,2)"}
  null_value: "NA"
pipeline:
  processors:
    - type: mapping
      field_mappings: {id: order_id}
      cast: {price: double}
      fields: {name2: "upper(name)"}
      drop: [secret]
    - type: aggregate
      group_by: [order_id]
      aggregates: {total: "sum(price)"}
output:
  type: parquet
  path: out/${FUST_FUZZ_NAME:-x}.parquet
  compression: zstd
""",
    "flow-style": '{name: flow, input: {type: csv, path: "a.csv", delimiter: ";", has_header: false}, '
                  'output: {type: csv, path: "b.csv", write_header: true}}\n',
    "errors": """name: 12
input:
  type: nosuch
  pth: a.csv
pipeline:
  processors:
    - type: sql
      query: "DROP TABLE input"
    - type: filter
output:
  type: csv
""",
    "secret-forbidden": "name: x\ninput: {type: csv, path: ${HOME}/a.csv}\noutput: {type: console}\n",
    "multi-doc": "---\nname: a\n---\nname: b\n...\n",
    "alias-bomb": "a: &a [x, x, x, x]\nb: &b [*a, *a, *a, *a]\nc: &c [*b, *b, *b, *b]\nd: [*c, *c, *c, *c]\n",
    "tags-and-scalars": "name: !!str 1\ninput:\n  type: csv\n  path: |\n    multi\n    line\n  has_header: yes\n  infer_rows: 0x10\noutput: {type: console}\n",
}


def job_seeds():
    t = "job_yaml"
    for path in sorted(glob.glob(os.path.join(ROOT, "examples", "*.yaml")) +
                       glob.glob(os.path.join(ROOT, "tests", "golden", "*", "job.yaml"))):
        name = os.path.basename(os.path.dirname(path)) if path.endswith("job.yaml") else \
            os.path.basename(path)[:-5]
        with open(path, "rb") as f:
            write(t, name, f.read())
    for name, text in JOBS.items():
        write(t, name, text)


# --- SQL ------------------------------------------------------------------------------

QUERIES = {
    "select": "SELECT * FROM input",
    "filter": "SELECT id, name FROM input WHERE amount > 100 AND flag AND name LIKE 'a%'",
    "join": "SELECT i.id, o.price FROM input i JOIN orders o ON i.id = o.id WHERE o.day < DATE '2024-03-01'",
    "cte": "WITH t AS (SELECT id, sum(amount) AS s FROM input GROUP BY id) SELECT * FROM t WHERE s > 1 ORDER BY s DESC LIMIT 5",
    "window": "SELECT id, row_number() OVER (PARTITION BY name ORDER BY day) AS rn, lag(price) OVER (ORDER BY id) FROM orders",
    "subquery": "SELECT * FROM input WHERE id IN (SELECT id FROM orders WHERE price > 1.5) AND EXISTS (SELECT 1 FROM orders)",
    "union": "SELECT id FROM input UNION ALL SELECT id FROM orders EXCEPT SELECT 1",
    "values": "VALUES (1, 'a'), (2, NULL)",
    "case-cast": "SELECT CASE WHEN amount IS NULL THEN 0 ELSE CAST(amount AS BIGINT) END, TRY_CAST(name AS DATE) FROM input",
    "functions": "SELECT date_trunc('month', day), upper(name), coalesce(price, 0), regexp_replace(name, 'a+', 'b'), md5(name) FROM input",
    "aggregate": "SELECT name, count(*), avg(amount), array_agg(id) FROM input GROUP BY name HAVING count(*) > 1",
    "file-path": "SELECT * FROM 'data/orders.csv'",
    "url": "SELECT * FROM 's3://bucket/x.parquet'",
    "qualified": "SELECT * FROM datafusion.public.input",
    "information-schema": "SELECT * FROM information_schema.tables",
    "unknown-table": "SELECT * FROM inputs",
    "two-statements": "SELECT 1; SELECT 2",
    "drop": "DROP TABLE input",
    "insert": "INSERT INTO input VALUES (1)",
    "copy": "COPY input TO 'out.csv'",
    "create-external": "CREATE EXTERNAL TABLE x STORED AS CSV LOCATION '/etc/passwd'",
    "explain": "EXPLAIN SELECT 1",
    "set": "SET datafusion.execution.batch_size = 1",
    "show": "SHOW ALL",
    "cte-shadow": "WITH input AS (SELECT * FROM 'x.csv') SELECT * FROM input",
    "table-function": "SELECT * FROM generate_series(1, 3)",
    "nested": "SELECT ((((((((((1)))))))))) FROM (SELECT * FROM (SELECT * FROM input) a) b",
    "unnest": "SELECT unnest(make_array(1, 2)), struct(id, name)['c0'] FROM input",
    "empty": "",
    "comment-only": "-- nothing\n/* here */",
}


def sql_seeds():
    for name, q in QUERIES.items():
        write("sql_guard", name, q)


if __name__ == "__main__":
    mysql_seeds()
    pg_seeds()
    csv_seeds()
    job_seeds()
    sql_seeds()
