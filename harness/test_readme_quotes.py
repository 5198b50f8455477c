"""Every quote in a README's "Python → C++" table is the tutorial's own text.

For the top-level README.md / README.zh-CN.md and every one a folder down (found by glob, so a new
lesson is covered without editing this file), each table whose header's first cell says
"tutorial (Python)" or "教程（Python）" is read row by row. In the first cell of every row:
  - each `code span` is a Python snippet;
  - each "double-quoted" text with Chinese in it ("setup与finish无论如何都会执行") is a quote of
    the tutorial's prose or comments.
Each must stand in the tutorial, compared whitespace aside, with `...` or `…` meaning "anything
may stand here" (an abridgement) and `; ` between two statements standing for the line break
between them (`data = sk.recv(1024); if data != b'success': break`). Where it must stand:
  - in a faithful copy of a tutorial program, harness/tutorial_programs/*.py, without the copy's
    own header comment and without its changed lines (every line marked `# CHANGED:`, and the
    `# was ...` line that continues such a change); the tutorial's comments count as its text,
    and a quote may also leave them out;
  - or, where no copy holds it (a line a copy had to change, prose, a printed result), in
    TUTORIAL_TEXT below: lines copied verbatim from the tutorial, each named by its part.
A quote that matches nowhere fails, naming the README, its line and the quote.

Reads text files only: no build folder, no program is started.
"""

import io
import re
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = ROOT / "harness" / "tutorial_programs"

# The tutorial's text that no faithful copy holds, verbatim (a copy's header names the part it
# copies; these are named the same way). Add a line here only by copying it from the tutorial.
TUTORIAL_TEXT = [
    # 000 (14、python网络编程之Socket), §二.1 / §二.2 / §三: the addresses the copies take from argv
    "server.bind(('127.0.0.1', 9939)) # 绑定IP+PORT",
    "client.connect(('127.0.0.1', 9939)) # 连接服务端",
    "client.sendto('hello socket'.encode('utf-8'), ('127.0.0.1', 9939)) # 发送数据\"hello socket\"",
    # 000 §二.1: what the server's print(client_addr) printed
    "('127.0.0.1', 50140)",
    # 001, 简单的信息交互实例(tcp) socket_server.py, 非堵塞型信息交互实例(tcp) socket_server_tcp2.py and
    # 文件传输实例 file_receive.py: the addresses the copies take from argv
    "ip_port = ('127.0.0.1', 8888)",
    "server = socketserver.ThreadingTCPServer(('127.0.0.1',8888), my_socket_server)",
    "ip_port = ('127.0.0.1',9999)",
    # 001, UDP通信实例: the file's name
    "服务端socket_server_udp.py",
    # 001, 文件传输实例: the file names the copies take from argv
    "while True:\n    with open('file','ab') as f:",
    "with open('D:\\socket_server_tcp2.py','rb') as f:\n    # 按每一段分割文件上传\n    for i in f:\n        sk.send(i)",
    # 002, §4.1 会发生粘包的两种情况 (服务端, 客户端): the address the copies take from argv
    "server.bind(('192.168.3.21', 8000))",
    "sk.connect(('192.168.3.21', 8000))",
    # 004 (Socket / 网络通信标准—网络协议 …), socket编程: the header, in prose (no program)
    "struct.pack(‘i’,123456),括号内i是整型,将后面整型的数据打包成一个bytes格式",
    "struct.unpack(‘i’,收到的) 解包,将打包时候的数据接收了解包出来。取出来是个元祖",
    "所以要用字典的方法来打包报头",
]

FENCE = re.compile(r"^\s*(```|~~~)")
PYTHON_COLUMN = re.compile(r"^\s*\|\s*(tutorial \(Python\)|教程（Python）)\s*\|")
SEPARATOR = re.compile(r"^\s*\|[\s:|-]+\|\s*$")
CELL_BORDER = re.compile(r"(?<!\\)\|")           # `\|` inside a cell is a pipe, not a border
CODE_SPAN = re.compile(r"`([^`]+)`")
QUOTED = re.compile(r'"([^"]+)"|“([^”]+)”')
CHINESE = re.compile(r"[\u4e00-\u9fff]")
ELLIPSIS = re.compile(r"\.\.\.|…")
WORD = "[A-Za-z0-9_]"                              # ASCII: a quote may begin right after 服务端


def normalize(text):
    """Whitespace aside: runs of it become nothing, except one space between two ASCII word
    characters (`import socket` stays two words, `a = 1` becomes `a=1`)."""
    text = re.sub(r"\s+", " ", text).strip()
    return re.sub(rf"(?<!{WORD}) | (?!{WORD})", "", text)


def tutorial_lines_of(copy):
    """(with comments, without comments): a faithful copy without what is not the tutorial's,
    its header comment (the first lines, up to the first line of code) and every line it
    changed; the second also without the comments the tutorial wrote."""
    source = copy.read_text(encoding="utf-8")
    lines = source.splitlines()
    comment_at = {}  # line number -> column where its comment starts
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            comment_at[token.start[0]] = token.start[1]
    start = 0
    while start < len(lines) and (not lines[start].strip() or lines[start].lstrip().startswith("#")):
        start += 1
    kept = [(number, line) for number, line in enumerate(lines[start:], start + 1)
            if "# CHANGED" not in line and not re.search(r"#\s*was\b", line)]
    return ("\n".join(line for _, line in kept),
            "\n".join(line[:comment_at.get(number, len(line))] for number, line in kept))


def tutorial_sources():
    """(name, normalized text) of every place a quote may come from."""
    sources = []
    for copy in sorted(PROGRAMS.glob("*.py")):
        with_comments, code_only = tutorial_lines_of(copy)
        sources.append((copy.name, normalize(with_comments)))
        sources.append((f"{copy.name} without comments", normalize(code_only)))
    for index, text in enumerate(TUTORIAL_TEXT):  # none holds a '#' that is not a comment
        sources.append((f"TUTORIAL_TEXT[{index}]", normalize(text)))
        sources.append((f"TUTORIAL_TEXT[{index}] without comments", normalize(re.sub(r"#.*", "", text))))
    return sources


def pattern_of(quote):
    """A regular expression for one quote: its pieces between ellipses, in order, anything
    between them; an ASCII word at either end must not be part of a longer word."""
    pieces = [normalize(piece) for piece in ELLIPSIS.split(quote)]
    expression = ".*?".join(re.escape(piece) for piece in pieces)
    if re.match(WORD, pieces[0]):
        expression = rf"(?<!{WORD})" + expression
    if re.search(rf"{WORD}$", pieces[-1]):
        expression += rf"(?!{WORD})"
    return re.compile(expression, re.S)


def readings(quote):
    """The quote as written and, when it has them, with `; ` between statements read as a line break."""
    found = [quote]
    if re.search(r";\s", quote):
        found.append(re.sub(r";\s+", "\n", quote))
    return found


SOURCES = tutorial_sources()


def where_it_stands(quote):
    """The name of a source that holds the quote, or None."""
    if not normalize(ELLIPSIS.sub("", quote)):
        return None  # only ellipses: quotes nothing
    for reading in readings(quote):
        expression = pattern_of(reading)
        for name, text in SOURCES:
            if expression.search(text):
                return name
    return None


def python_table_rows(text):
    """(line number, first cell) of every row of every "Python → C++" table outside code blocks."""
    rows, inside, in_table = [], False, False
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            inside = not inside
            continue
        if inside or not line.lstrip().startswith("|"):
            in_table = False
            continue
        if PYTHON_COLUMN.match(line):
            in_table = True
        elif in_table and not SEPARATOR.match(line):
            rows.append((number, CELL_BORDER.split(line.strip())[1].strip()))
    return rows


def quotes_in(cell):
    """The Python snippets (code spans) and the Chinese "quotes" of one first cell."""
    found = [span.replace("\\|", "|") for span in CODE_SPAN.findall(cell)]
    outside_code = CODE_SPAN.sub("", cell)
    found += [straight or curly for straight, curly in QUOTED.findall(outside_code)
              if CHINESE.search(straight or curly)]
    return found


def readmes():
    """README.md and README.zh-CN.md at the top and one folder down (no build trees)."""
    found = [ROOT / "README.md", ROOT / "README.zh-CN.md"]
    for path in sorted(ROOT.glob("*/README*.md")):
        folder = path.parent
        if folder.name.startswith(".") or (folder / "CMakeCache.txt").exists():
            continue
        found.append(path)
    return [path for path in found if path.name in ("README.md", "README.zh-CN.md")]


def name(path):
    return str(path.relative_to(ROOT))


READMES = readmes()
LESSON_READMES = [path for path in READMES if path.parent != ROOT]


def test_readmes_and_their_tables_are_found():
    # Seven lessons, two languages each: a glob or a table layout that finds nothing tests nothing.
    assert len(LESSON_READMES) >= 14, [name(path) for path in LESSON_READMES]
    for readme in LESSON_READMES:
        rows = python_table_rows(readme.read_text(encoding="utf-8"))
        assert len(rows) >= 5, f"{name(readme)}: no \"Python → C++\" table found (rows: {rows})"
        assert sum(len(quotes_in(cell)) for _, cell in rows) >= 5, f"{name(readme)}: no quotes found"


def test_the_check_tells_a_quote_from_a_made_up_one():
    # The tutorial's own lines, whitespace aside, abridged, with a comment left out or a `;`:
    for quote in ["data1 = conn.recv(10)", "data1 = conn.recv(10) # 这里一次就接完了",
                  "sk.send(b'maigc')", "struct.unpack('i', head_pack)[0]", "s.send('recv_ready'...)",
                  "while recv_size < length: data+=s.recv(1024)", "sk.send(b'hello'); sk.send(b'maigc')",
                  "with open('D:\\socket_server_tcp2.py','rb') as f: for i in f: sk.send(i)",
                  "setup与finish无论如何都会执行", "server.bind(('192.168.3.21',8000))"]:
        assert where_it_stands(quote), quote
    # Lines the tutorial never wrote, or wrote otherwise (a changed copy's line is not its text):
    for quote in ["data1 = conn.recv(20)", "sk.send(b'magic')", "print(data)", "data2 = conn.recv(2)",
                  "conn.recv(10) # 这里没接完", "server.bind((HOST, PORT))", "json.loads(...)",
                  "sk.bind(('127.0.0.1', 9999))", "…", "xdata1 = conn.recv(10)"]:
        assert not where_it_stands(quote), quote


@pytest.mark.parametrize("readme", READMES, ids=name)
def test_every_quote_in_a_python_table_is_the_tutorials(readme):
    rows = python_table_rows(readme.read_text(encoding="utf-8"))
    if not rows:
        pytest.skip(f"{name(readme)} has no \"Python → C++\" table")
    not_found = [f"{name(readme)}:{number}: `{quote}` (row: {cell})"
                 for number, cell in rows for quote in quotes_in(cell) if not where_it_stands(quote)]
    assert not not_found, ("quotes that are not the tutorial's text (not in harness/tutorial_programs/, "
                           "nor in TUTORIAL_TEXT):\n  " + "\n  ".join(not_found))
