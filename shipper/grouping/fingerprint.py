"""Error fingerprints: which events are the same bug. Pure, deterministic, standard library only.

One group = one bug = the same exception chain raised from the same statement. For an event with a
traceback (`error.stack_trace`) the key is built from each exception of the chain (causes and
contexts included, group members as a set; a group a task group raised of one failure, as that
failure):

- the exception's class name (the last dotted component, so `__main__.Boom` and `app.errors.Boom`
  agree, and vendored copies agree with the original);
- its raising statement: the innermost frame, identified by file *name* (not path), function and
  source text, never by line number or directory (the function by its qualified name where the handler
  recorded one: `shipper.grouping.qualnames`); so code moved between versions, other install
  locations (venv, site-packages, dist-packages, a checkout, Windows) and other callers do not split;
  a file of a subpackage of the program's (see "Library frames") by its path from the package
  (`shop/payments/views`), so the same statement of `payments/views.py` and `shipping/views.py` is two;
- when that statement is in the standard library (e.g. `json.loads` failing), the innermost frame
  outside it instead: the program's statement that made the call (which stdlib line raised varies
  with the input and the Python version), so two features failing inside `json` stay two bugs;
- for a RecursionError, the frame that repeats (where the limit strikes depends on the stack depth);
- when the source line was not printed, the masked message instead (for a message that quotes a
  traceback, as a worker process's RemoteTraceback does, that traceback's key);
- for a SyntaxError in text compiled at run time (`eval`, `ast.literal_eval`: its location is a
  pseudo-file, its line the input), the statement that compiled it; in a module's file (a path), the
  file (which line the parser points at varies with the Python version);
- for a KeyboardInterrupt or a CancelledError, the function of the program's outermost frame (where the
  signal lands, where the task was suspended, varies);
- for a raise in code generated at run time shown without source (`<string>` of `eval` and of a
  dataclass's methods), the statement that called it, with the masked message; asyncio's CancelledErrors
  chained before a later exception (a timeout's) are no part of the chain's key, and a class the standard
  library renamed (`socket.timeout`, `re.error`) is keyed by its new name (one bug on every version).

Library frames. The program's frames are those of its `in_app` packages (handler option, `[grouping]
in_app` in the TOML, `logloop cluster --in-app`), else of the package its logger is named after
(`logging.getLogger(__name__)` in `fleetapp.billing` names `fleetapp`; not the root logger, `__main__`
or a standard-library module): under site-/dist-packages the package installed there, elsewhere a
directory of that name or `<package>.py`. A standard-library logger (`asyncio`, `concurrent.futures`)
reports the program's failure without naming it: there the traceback's own frames tell the package
(`frames_package`). When they are known, an exception raised in code that is not
the program's (an installed library, or a frame shown without source: templates, Cython) is keyed like
one raised in the standard library: by the program's innermost statement, the one that called into
that code, as Sentry and Elastic APM users expect (two features failing in one library call are two
bugs); which library statement raised, and its message, vary with the input and the library version.
Not when other code outside installed packages, shown with its source, comes first on the way out
from the raise: then the marked package is a framework around the program (its logger logged the
failure: `uvicorn.error`), and the library's statement stays the key. When they are not known (no
logger, a pasted traceback), the library's raising statement is the key whatever called it: judged by
path alone, one host in five of the evaluation set (the program under dist-packages) would have its own
frames taken for a library's and split 40 of 57 library-raised bugs. Left open: where that framework's
host has the program installed into site-packages too, nothing tells the two apart, and its library
raises are keyed by the framework's frame there (the keys of the two kinds of host differ).

Funnels. A raise statement that builds its message when it runs (`raise PluginError(f"Error: {exc}")`,
`raise cls(msg)`) may raise every plug-in's failure from one line; when the message brings at least
three words that are not in the statement (another exception's text, not a value), its masked first
line joins the key; not when the exception chains the failure it reports (a cause or context before
it): that link is keyed and tells such bugs apart, while its text varies with the input. A raise that
passes on the message it was given (`raise ServiceError(msg)`, a helper's) raised what its caller wrote:
when the calling statement holds two words or more of the message, that statement keys it, and the
funnel test is made against it (a word its caller put in, `alice` or `bob`, is a value then).

A Java exception or a Go panic (no Python frame) is keyed by its frames too: `shipper.grouping.foreign`.

Messages are not part of a traceback key (they carry the variable data); they make the title.
Message-only error events group on the logging template (`logloop.template`) when present, else on
the masked first line of the message (see `shipper.grouping.masking`); both with the logger name.

Speed: a traceback printed the plain way (nearly all: see `tracebacks.scan_plain`) takes the fast
path, `fingerprint_plain`: its innermost frame is found with `str.rfind` and read with the parser's
own frame regex, and the key is the one the general parser gives (tests compare them on real, cut and
hand-written traces); ExceptionGroups are cut once at their separators (`tracebacks.group_box`) and
keyed from the signatures of their distinct member runs; anything else takes
`tracebacks.scan_traceback` or `parse_traceback`. Bounded memos (LRU or oldest-first, thread-safe) keep
what repeats from event to event: the site of a frame (once for all its line numbers and install
directories), masked message lines (once for all lines of one shape: other digits), group members (by
their boxed text), what a path tells, finished fingerprints. A memo never changes a result (`clear_caches()`
empties them all); the result is still a pure function of the document. A batch (`logloop cluster`) also
passes `fingerprint_document` a `tracebacks.TextMemo` of its own: the fast path's answer for each whole
traceback text, so a recurrence costs a lookup.

Bump `GROUPING_VERSION` whenever a change to this algorithm can move an event to another group
(`logloop regroup` then recomputes older keys). History:

    1  first version
    2  stdlib raise sites keyed by the calling statement; RecursionError by the repeating frame;
       message-only keys and frameless chain members on the masked first line
    3  funnels: a raise statement that builds its message keys it too when the message brings three
       words of its own; RecursionError by the set of frames that repeat (comprehension frames
       alternate with the recursive function's); ExceptionGroup members never raised by their type;
       `in_app` packages: a library's raising statement with the program's calling statement;
       titles keep short identifiers, name the culprit and write template specifiers as placeholders;
       (unreleased, amended) the logger's package counts as the program's when `in_app` is not set; a
       raise in a library or in a frame without source is keyed by the program's calling statement
       alone; a funnel's text is not keyed when it chains the failure it reports; a RecursionError's
       cycle is counted from the outermost call of its innermost repeating frame, so callers that
       repeat above it (a middleware chain) no longer join it; a frameless exception whose message
       quotes a traceback (a worker process's RemoteTraceback) keyed by that traceback; a SyntaxError
       in text compiled at run time by the statement that compiled it; a pseudo-file numbered by an
       interactive session (`<python-input-3>`) with its number written "N"; a comprehension's frame
       (`<listcomp>`, Python <= 3.11) as 3.12+ prints it: its function's, with the comprehension's line;
       an error message (and a message-only line) without its terminal colours; a crash dump
       (faulthandler), rich's, loguru's, pytest's and Django's renderings, tab indents, and a traceback
       that is the message of an event without stack trace, read as the traceback they show; a
       traceback cut inside a frame keyed by the frames before it; PyPy's standard library and a frozen
       application's (relative paths: `json/decoder.py`) as the standard library; a record `logging`
       could not emit ("--- Logging error ---") keyed with its "Call stack:" frames as the outer ones (by
       the program's logging call); the interpreter's suggestion after a message (`. Did you mean: 'x'?`)
       no part of a keyed message or title; a KeyboardInterrupt or CancelledError (a timeout's cause) keyed
       by the function of the program's outermost frame;
       Django's report of a chain read as a chain; a `key=value` whose value an earlier rule masked
       (`id=<HEX>`, `user=<UUID>`, `host=<IP>`) masked `key=<VAL>` like any other value; a logging
       template of placeholders only (`log.error("%s", exc)`, `py.warnings`) keyed by the masked message
       as if it had none (every such line of a logger was one group titled `<VAR>`); structlog's
       structured traceback (a list of stacks, or its JSON, in `error.stack_trace`) read as the
       traceback it holds (it was keyed by the event's message: every bug one statement logged, one group);
       a Java exception's or a Go panic's frames (`shipper.grouping.foreign`), in the stack trace or
       the message, keyed by the chain's types and innermost frames outside the runtime (they were
       keyed, or mined, by their message: siblings one group); a location line (`shop/w.py:12:
       DeprecationWarning: ...`, as `warnings` and pytest's `--tb=line` print one) as a traceback of one
       frame at module level, the warning's source line under it (the same warning from every file was
       one group); the standard library under `lib64/` (Red Hat's layout) as the standard library (its
       raises were keyed by its own line: a Red Hat and a Debian host split a bug, two callers merged);
       IPython's `%xmode Verbose` and `%xmode Plain` tracebacks read frame by frame (each was one
       frameless text: every bug one group); a traceback a logger prefixed on every line read past the
       prefix when lines come before its header (a worker's quoted RemoteTraceback: every worker bug one
       group), and a log line before a quoted worker traceback no part of the chain; a SyntaxError in
       text compiled under a file name without a directory keyed by the statement that compiled it; the
       standard library of a Windows host printed in another letter case (`c:\\python311\\lib\\json\\`) as
       the standard library (its raises were keyed by its own line: one bug split across Windows hosts,
       two callers merged); masked as a date, a path or a string: a date written day first with its month
       named (`Fri, 05 Jan 2024`, `5 January 2024`, `4th Dec`, `05/Jan/2024`), a drive's path written with
       slashes (`C:/data/in.csv`), a UNC path and a bytes literal (`b'...'`) (a message split by weekday
       and month, by drive, by value); an ExceptionGroup a task group raised (asyncio's TaskGroup, anyio,
       trio) of one failure, once or repeated, keyed and titled as that failure (a lone failure wrapped by
       anyio 4, trio 0.25+ or a TaskGroup and raised alone by anyio 3, older trio or `gather` was two
       groups; 6 evaluation-set events of one bug change key together, GA unchanged); a notebook's cell as
       ipykernel or xeus-python compiles it (`/tmp/ipykernel_812/3016483423.py`, named by a hash of the
       cell's text) as the file `<cell>` (any edit of the cell renamed it: one bug per version of the cell);
       an event's own fingerprint read as Sentry's: `{{default}}` in any spacing or case is the
       default key, and `{{ message }}`, `{{ function }}`, `{{ module }}`, `{{ logger }}`,
       `{{ level }}`, `{{ error.type }}`... its values (they were text: every such event one group;
       only events that set a fingerprint change, none of the evaluation set);
       an `in_app` path pattern matched against the path with forward slashes (a Windows host's frames
       never matched `*/src/myapp/*`; only events under such a pattern change, none of the evaluation set);
       masked alike: a digest a word names (`commit 1234567` and `commit a1b2c3d`: a short SHA of digits
       only was a number), a MAC address (one without digits was text), a number in scientific notation
       (`1.5e+308` was a word), and a mapping of values only (`{'a': 1}`, `{"b": [null]}`) as `{<VAL>}`
       (a message split by the kind of its values; titles keep such a mapping's identifiers; no
       evaluation-set event changes); a duration in several units (`1h30m`, was a word) as one duration,
       and a size in multiples of bytes (`10KB`, `1.5 GiB`) as `<SIZE>` (its unit varies with it); a
       time on a 12-hour clock (`9:05 PM`) as a time (AM and PM split a message); titles (not keys)
       keep an exception class's dotted name whose module holds a digit (`(sqlite3.OperationalError)`,
       was `(<ID>)`: 12 evaluation-set titles of 2 groups change, no key);
       an event's own fingerprint given as a set (`extra={"fingerprint": {"a", "b"}}`) in one order in
       every process, its items sorted by type and text (`shipper.formatter.jsonable`; a set iterates in
       the order of PYTHONHASHSEED: each process of a program had its own key for one fingerprint; only
       events that set a fingerprint as a set change, none of the evaluation set);
       an `in_app` name looked for only where a program's package can be: never in standard library
       paths, under site-/dist-packages only as the package installed there (a project's own `lib`,
       `utils` or `json` package marked the interpreter's and every library's frames of that directory
       as the program's: two callers of one library were one group), and a dotted name (`acme.shop`)
       as those directories (it matched no frame); only events keyed with such `in_app` names change,
       none of the evaluation set;
       a SyntaxError where a module's file does not compile (its location a path, no function: an
       import, `python job.py`) keyed by the file, not by the statement the parser points at (Python
       3.8/3.9 point at the line after an unclosed bracket, 3.10+ at the bracket: one broken file was
       a group per version; another bad statement of one file is now the same group; none of the
       evaluation set changes); an exception class the standard library renamed read as its new name
       (`socket.timeout` as `TimeoutError`, `re.error` and `sre_constants.error` as `PatternError`), and
       asyncio's CancelledErrors chained before a later exception (a timeout's: none in 3.8, two in 3.9
       and 3.10, one since 3.11) no link of the key (one bug was a group per Python version; 12
       evaluation-set events of 2 bugs change key together, GA unchanged); a raise in code generated at
       run time shown without source (`<string>` of `eval`/`exec` and of a dataclass's methods, `<attrs
       generated ...>`; not `<stdin>` or an interactive session's) keyed by the statement that called it,
       with the masked message (every frozen field assigned anywhere in a program was one group, and
       every evaluated text's NameError; 6 evaluation-set events of 1 bug change key together); a
       written-out list of values of several kinds (a literal such as None one of its own) masked as one
       value, `[<VAL>]` (it was its first item's kind, a literal broke the run: `[3, 'a']`, `['a', 3]`
       and `[3, None]` were three groups), and in a message-only line the miner reads such a list (of
       quoted strings too) as one variable (each list logged was a group of its own); RichHandler's
       traceback in its message column (a box narrower than its header, the exception's text wrapped)
       read as the traceback it shows, and a JSON line's traceback under `err`, `error` or `exc` read
       (each was a message: every bug of a log call one group); an exception group rich draws (its
       members in `Sub-exception #N` boxes) keyed by its members as `traceback`'s rendering is (groups
       of any bugs one statement raised were one group); none of the evaluation set changes;
       a distribution installed as an egg under site-packages (`.../site-packages/shop-1.4-py3.11.egg/
       shop/`) or as a wheel's directory (pex's `~/.pex/installed_wheels/<hash>/<name>.whl/`) read as
       installed there: the logger's package found in it, a wheel's other packages libraries (the
       program's frames were a library's, or the libraries' the program's: a library raise keyed by
       the library's statement on such hosts and by the program's call elsewhere, one bug two groups);
       a JSON line's traceback under a top-level `stack`, `trace` or `backtrace`, and Datadog's
       `logger.name` as the logger (every bug of such a log one group; a library raise keyed by the
       library's statement); none of the evaluation set changes; the logger's package found in the
       frames another renderer drew (rich's, IPython's: a library raise they showed was keyed by the
       library's statement, as `traceback`'s text by the program's call), and a text log's entry
       (`logloop cluster --text`) given the logger its line's layout names (`ERROR:shop.rates:`,
       `ERROR shop.rates: `, `- shop.rates - ERROR -`) as an ECS event has it; none of the evaluation
       set changes; masked alike: a sequence of sequences whatever their count (`((1, 2), (3, 4))`,
       `[[1], [2], [3]]` as `((<NUM>))`, `[[<NUM>]]`) and a one-item tuple as a longer one (`(5,)` and
       `((5, 6),)` as `(<NUM>)`, `((<NUM>))`) (a message split by the number of rows or points it
       printed; none of the evaluation set changes); in a text log, the line after the last member box of
       a group rich drew starts an entry (it was that box's exception line, and the next record's
       traceback an entry of its own, keyed without its logger); a frame of a subpackage of the
       program's (the logger's package or an `in_app` name: `shop/payments/views.py`) keyed by its
       module's path from the package, `shop/payments/views` (Sentry's module), not by its stem: the
       same statement in a same-named function of same-named files of two subpackages (Django apps'
       `views.py`, `tasks.py`) was one group; the path is taken from the last directory of the
       package's name (a checkout or a user named like it stays out); a module of the package's own
       directory, a library's, the standard library's and a program's whose package is not known keep
       the stem; titles, and an event fingerprint's `{{ module }}`, name such a module's dotted path
       (`shop.payments.views.fetch`); no evaluation-set event changes (its program is one flat package);
       a bare `error` rich printed below a box whose innermost frame is in `re`'s parser or compiler read
       as `re.error` (so keyed as `PatternError`: rich and `traceback` split one bad pattern on Python
       <= 3.12); the count an exception group's text ends with, "(N sub-exceptions)", no part of a
       keyed message (a funnel's group of one member and of several were two groups, and so were logged
       groups); stackprinter's report (frame lines at the line start, no header, the line that ran
       marked `-->`, its chains) read as the traceback it shows (each was keyed by the event's message:
       every bug one group), and a traceback indented as a whole under a message line (twisted's log,
       tab-indented under `Unhandled Error`; a formatter indenting the exception text) read as printed
       (its key was the text's: one bug split from its bare trace, its title the message); titles (not
       keys) of a failure a process pool re-raised name the worker's raising function, not the parent's
       call that waited for it; none of the evaluation set changes; a cell IPython compiled
       (`<ipython-input-3-5e1c...>`, named by its count and a hash of its text) as the file
       `<ipython-input>` in a plain traceback too, as IPython's report names it (any edit of the cell
       renamed it: one bug per version of the cell, and apart from IPython's report of it); none of the
       evaluation set changes; an exception raised from a statement whose message quotes a traceback
       or an IPython report after its first line (a notebook runner's CellExecutionError: nbclient,
       `jupyter nbconvert --execute`, papermill, nbmake) keyed with the quoted traceback's signature,
       and titled by its culprit (every failing notebook was one group, titled by the runner's
       function); none of the evaluation set changes;
       `logloop regroup` (and `analyze`, which gives unkeyed errors a key the same way) reads a
       stored event of another JSON logger as `logloop cluster` does (`json_logs.as_ecs`: an
       OpenTelemetry log's `body` as its message, its `exception.stacktrace` as its traceback): every
       such error, now counted as one, was one group "(empty message)"; none of the evaluation set
       changes (`logloop cluster` read them so already); Twisted's failure printed brief
       (`Traceback: <type>: <value>`, a line `path:N:function` a frame) or verbose (between
       `*--- Failure #N ---` and its end mark) read as the traceback it shows (each was keyed by the
       event's message: every bug one statement logged, one group), and in a text log a frame's blank
       source line (Twisted's, for `eval`'s `<string>`) no end of its traceback; a traceback as rsyslog
       writes it (one line, line ends `#012`, tabs `#011`) read as printed (it was a message line
       mined: one logging call's bugs merged); none of the evaluation set changes; the journal's
       export (`journalctl -o json`) read with its `MESSAGE` as the message, and the `EXCEPTION_TEXT`
       and `LOGGER` of python-systemd's `JournalHandler` as the traceback and logger (every such
       line was one group, "(empty message)"); none of the evaluation set changes; a keyed message
       longer than 1,000 characters cut at a blank before it is masked (cut inside a listed value, a
       funnel's long text was a group per place the cut fell), and a list of numbered items (`#3, #57`)
       masked as one `#<NUM>` (a message split by how many it listed); a text log's logger also read
       after bracketed fields (`ERROR [4242] shop.rates:`), in brackets (`ERROR [shop.rates]`), with
       its line number, in loguru's layout and before the level in the cookbook's padded columns
       (library raises under those layouts were keyed by the library's statement: siblings merged);
       none of the evaluation set changes; a raise that passes on the message it was given keyed by
       its caller's statement when that statement wrote the text (two words or more of it), the
       funnel test made against it (a helper's callers were one group, or a group per bare-word value
       of their texts); none of the evaluation set changes (seeds 2 to 5 neither); in a text log, a
       warning `logging.captureWarnings` logged keyed by its location line, as printed unlogged (it was
       a message line of its own group); a module's file that does not compile keyed as a SyntaxError
       whichever class of its family the parser names (one broken file is a SyntaxError on 3.8 and an
       IndentationError on 3.9+, and another bad statement of it, the same group, a TabError: a group
       each), its title the class raised; a text `compile` refuses keeps its class; none of the
       evaluation set changes (seeds 1 to 5); a warning raised as an error (`-W error`,
       `simplefilter("error")`) at a call that blames its caller (`warnings.warn(..., stacklevel=2)`)
       keyed by the statement it blames, as a logged warning's location line names it (every caller of
       a deprecated helper of the program's was one group, titled by the helper); none of the
       evaluation set changes (seeds 1 to 5); a raise passing on its message (`raise ServiceError(msg)`)
       read past the fast path (rich's and loguru's renderings, a frame the fast path declines) keyed
       by the caller that wrote the message, as the fast path and the parser key it (its scan keyed
       the helper's raise: its callers were one group, apart from their plain tracebacks; on the
       evaluation set the scan and the fast path disagreed on 30 of 11,780 texts, now none); no
       evaluation-set key changes (seeds 1 to 5); a failure the interpreter could not raise, printed below
       the `sys.unraisablehook` header that names the function it was ignored in (`Exception ignored in:
       <function Conn.__del__ at 0x...>`: a finalizer's, a weakref callback's, a generator's or
       coroutine's closing), keyed with that qualified name (two classes' `__del__` of one module failing
       on one statement's text were one group: the frames print `__del__` alone); none of the evaluation
       set changes (seeds 1 to 5); an event a standard-library logger logged (asyncio's "Task exception
       was never retrieved" and "Exception in callback", `concurrent.futures`' callbacks; in a text
       log, `threading.excepthook`'s "Exception in thread ...", its logger read as `threading`) given
       the program's package its traceback's frames show (`frames_package`): a library raise in a task,
       a pool or a thread was keyed by the library's statement (every feature's task calling one
       library call, one group); none of the evaluation set changes (its events carry the program's
       logger); an event the handler logged whose frames include a function whose bare name another
       function of its file has (`Reader.close`, `Writer.close`) keyed with the qualified name the
       handler recorded (`logloop.qualnames`, `shipper.frame_names`; two such methods failing on one
       statement's text were one group); an event without the field (stored before it, a text log,
       another shipper's) keys as printed, so only events logged since move; none of the evaluation set
       changes; a RecursionError whose repeating frames are all the standard library's (`copy.deepcopy`,
       `pprint` of a structure too deep) keyed with the innermost frame outside them, the program's
       statement that entered them, and titled by it (every statement that deep-copied one was one
       group, titled `copy._deepcopy_list`); an ExceptionGroup a task group raised of one failure keyed
       and titled as that failure past the fifteen members Python prints too (`and N more exceptions`:
       a fleet's runs were one group below sixteen failed tasks and another from sixteen on); the
       program's package of an event a standard-library logger reported (`frames_package`) read, where
       the program is installed, from the final exception's traceback (a chain's cause printed first, its
       library frame, `urllib3` under `requests`, was taken for the program: every coroutine's failure in
       one library call one group); the handler's qualified names read by the code object itself
       (`shipper.frame_names`: two generated modules' equal code at the same lines took one module's class
       for the other's, once that one had failed in the process); an event a framework's logger logged
       about code the framework called (`django.request`, `celery.app.trace`: a frame of the logger's
       package in site-/dist-packages calling, further in, a module file installed nowhere) given the
       program's package its frames show (`frames_package`): every view's failure in one Django call was
       one group, keyed by Django's raise; none of the evaluation set changes (its events carry the
       program's logger); the lines below an exception's type printed alone (its text empty) read as
       its notes, not its message (`add_note`'s values split a group keyed with its message and titled it);
       frames of several apps of one checkout, none in the directory they share, give the innermost
       frame's app as the program's package (`frames_package`: the checkout's directory, each host's
       own name, entered the keys, so an asyncio- or Django-logged bug had a key per host), and a library
       raise below a frame of such another app, before one of the logger's package, is keyed by that
       app's call (`_library_caller`: by the library's statement, so two of its functions failing in one
       library call were one group under the calling app's logger); none of the evaluation set changes
"""

from __future__ import annotations

import dataclasses
import fnmatch
import functools
import itertools
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final, TypeVar

from shipper.grouping import renderers, titles, tracebacks
from shipper.grouping.digests import hex_digest
from shipper.grouping.foreign import read_foreign
from shipper.grouping.masking import RULES, mask
from shipper.grouping.message_only import stack_trace_text, traceback_in_message
from shipper.grouping.options import (
    DEFAULT_OPTIONS,
    GroupingOptions,
    fingerprint_variable,
    user_fingerprint,
)
from shipper.grouping.qualnames import with_qualnames
from shipper.grouping.tracebacks import (
    BoundedMemo,
    ExceptionRecord,
    Frame,
    LazyFrames,
    PlainException,
    ScannedException,
    TextMemo,
    Traceback,
    bare_exception,
    block_member,
    group_box,
    has_frame_lines,
    normalized,
    outer_frame_lines,
    parse_traceback,
    plain_exception,
    read_frame,
    scan_plain,
    scan_traceback,
    segments,
    without_colours,
)
from shipper.lazy_regex import compile_cached, compile_lazily
from shipper.schema import ERROR_LEVEL_NAMES, is_error_document
from shipper.schema import get_field as get_field  # re-exported: dotted paths are defined once, there

GROUPING_VERSION: Final = 3

# Derived from the one definition (shipper.schema) for callers that still test a level against a
# set; new code calls shipper.schema.is_error_level, which also ignores case and blanks.
ERROR_LEVELS: Final = frozenset(ERROR_LEVEL_NAMES)
_MESSAGE_LIMIT: Final = 1000  # masking cost grows with length; a key never needs more

# (`lib64/`: where Red Hat, Fedora, CentOS, Amazon Linux and openSUSE install it. Windows paths ignore
# case: an interpreter started by a path typed in lower case prints `c:\python311\lib\json\`; in a
# lower-case `lib\` only under a folder named for Python or a conda, not a program's own `lib` folder.)
_STDLIB_RE: Final = compile_cached(
    r"^<frozen |(?:^|[/\\])(?:lib(?:64)?|Lib)[/\\]python\d+(?:\.\d+)?t?[/\\](?!(?:site|dist)-packages)"
    r"|(?:^|[/\\])Lib[/\\](?!(?:site|dist)-packages)|python\d+\.zip[/\\]"
)
# The folders a Windows standard library's `lib\` is in (`python311`, `python3.12t`, a conda's): a path
# written in lower case is tested for them by `_windows_stdlib`.
_WINDOWS_PYTHON_HOMES: Final = ("python", "anaconda", "miniconda", "miniforge", "mambaforge")
_WINDOWS_HOME_TAIL: Final = frozenset("0123456789.t")
# PyPy's standard library (`lib/pypy3.10/`; `lib-python/3/` and `lib_pypy/` in its source layout): its
# paths hold "pypy" (a test apart, so that CPython's paths are searched by the pattern above alone).
# (Compiled when first used, by `re`'s cache: most programs never meet a PyPy path.)
_PYPY_STDLIB: Final = (
    r"(?:^|[/\\])(?:lib(?:64)?|Lib)[/\\]pypy\d+(?:\.\d+)?[/\\](?!(?:site|dist)-packages)"
    r"|(?:^|[/\\])(?:lib-python[/\\]\d|lib_pypy)[/\\]"
)
# An installed distribution: under site-/dist-packages, in an egg, or in a wheel unpacked (or imported
# from its zip) as a directory of its own: pex's `~/.pex/installed_wheels/<hash>/<name>.whl/`.
_THIRD_PARTY_RE: Final = compile_cached(r"[/\\](?:site|dist)-packages[/\\]|\.(?:egg|whl)[/\\]")


class FrameKind(Enum):
    """Where a frame's code lives, judged from its path alone."""

    APPLICATION = "application"
    THIRD_PARTY = "third_party"
    STDLIB = "stdlib"


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """A group identity: `key` (stable hash), `name` (readable title), `version` (algorithm)."""

    key: str
    name: str
    version: int


def classify_frame(filename: str) -> FrameKind:
    """Tell standard library, installed third-party and application code apart by path."""
    installed = "-packages" in filename or ".egg" in filename or ".whl" in filename  # cheaper first
    if installed and _THIRD_PARTY_RE.search(filename):
        return FrameKind.THIRD_PARTY
    # Every match of _STDLIB_RE holds "<frozen ", "python" or "Lib": a cheaper test first.
    if ("ython" in filename or "Lib" in filename or "<frozen " in filename) and _STDLIB_RE.search(filename):
        return FrameKind.STDLIB
    if "\\" in filename and _windows_stdlib(filename.lower()):
        return FrameKind.STDLIB
    if "pypy" in filename and re.search(_PYPY_STDLIB, filename):
        return FrameKind.STDLIB
    if filename[:1] not in _ABSOLUTE_STARTS and _frozen_stdlib(filename):
        return FrameKind.STDLIB
    return FrameKind.APPLICATION


def _windows_stdlib(path: str) -> bool:
    """Whether a Windows path in lower case (Windows paths ignore case: an interpreter started by a path
    typed in lower case prints `c:\\python311\\lib\\json\\`) is in a standard library: `\\lib\\`, not
    then site-packages, under a folder named for Python or a conda (not a program's own `lib` folder)."""
    at = path.find("\\lib\\")
    while at > 0:
        home = path[path.rfind("\\", 0, at) + 1 : at]
        named = next((name for name in _WINDOWS_PYTHON_HOMES if home.startswith(name)), None)
        if (
            named is not None
            and _WINDOWS_HOME_TAIL.issuperset(home[len(named) :])
            and not path.startswith(("site-packages", "dist-packages"), at + 5)
        ):
            return True
        at = path.find("\\lib\\", at + 4)
    return False


# A frozen application (PyInstaller, cx_Freeze) names each module's file relative to its archive's root,
# the standard library's too (`json/decoder.py`, `subprocess.py`): such a path is the standard library's
# when its first part is a standard-library module. (A path starting "/", "\\", "<", "~", or a drive
# letter is no such path; nor is one under site-packages, told above.)
_ABSOLUTE_STARTS: Final = frozenset("/\\<~")


def _frozen_stdlib(filename: str) -> bool:
    """Whether a relative path is a frozen application's copy of a standard-library module."""
    if filename[1:3] in (":\\", ":/"):
        return False  # a Windows drive
    first = filename.replace("\\", "/").partition("/")
    name = first[0].removesuffix(".pyc").removesuffix(".py") if not first[1] else first[0]
    return name in sys.stdlib_module_names and name not in _NO_PROGRAM


def fingerprint_event(
    doc: Mapping[str, Any], options: GroupingOptions = DEFAULT_OPTIONS
) -> Fingerprint | None:
    """Fingerprint an ECS error event (nested or dotted keys); None for events that are not errors.

    What an error is, `shipper.schema.is_error_document` says (the one definition).
    """
    if options.in_app or options.rules or _user_parts(doc) is not None:
        return _customised(doc, options, errors_only=True)
    stack_trace = _field(doc, "error.stack_trace", "error", "stack_trace")
    if stack_trace and type(stack_trace) is str:  # the usual error event: the fast path first
        stack_trace = _named(stack_trace, doc)
        package = _package_in(stack_trace, doc)
        return fingerprint_plain(stack_trace, package) or _fingerprint(
            doc, stack_trace, package=package, fast_path_tried=True
        )
    if not is_error_document(doc):
        return None
    stack_trace = _named(stack_trace_text(stack_trace), doc) or traceback_in_message(doc)
    return _fingerprint(doc, stack_trace, package=_package_in(stack_trace, doc))


def fingerprint_document(
    doc: Mapping[str, Any],
    options: GroupingOptions = DEFAULT_OPTIONS,
    memo: TextMemo[Fingerprint | None] | None = None,
) -> Fingerprint:
    """Fingerprint any event, error or not: by traceback, else template, else masked message.

    `memo` (for a batch, as `logloop cluster` has: a fleet sends the same traceback again and again)
    holds the fast path's answer for each whole traceback text and program package: that answer is a
    pure function of the two (`fingerprint_plain`), so a memo gives what a new reading would.
    """
    if options.in_app or options.rules or _user_parts(doc) is not None:
        found = _customised(doc, options, errors_only=False)
        assert found is not None  # every event has a key when not only errors are asked for
        return found
    stack_trace = _named(
        stack_trace_text(_field(doc, "error.stack_trace", "error", "stack_trace")), doc
    ) or traceback_in_message(doc)
    if memo is None or not stack_trace:
        return _fingerprint(doc, stack_trace, package=_package_in(stack_trace, doc))
    # `_package_in` is a function of the logger's package and the text: found on a miss
    known = memo.get_or_compute(stack_trace, _memo_package(doc), _plain_in_package)
    if known is not None:
        return known
    return _fingerprint(doc, stack_trace, package=_package_in(stack_trace, doc), fast_path_tried=True)


def _plain_in_package(stack_trace: str, logged: str) -> Fingerprint | None:
    """`fingerprint_plain` of a traceback whose event's logger names `logged` (`_memo_package`)."""
    if logged == _FROM_FRAMES or (logged and _framework_logged(stack_trace, logged)):
        logged = frames_package(stack_trace)
    return fingerprint_plain(stack_trace, logged if logged and logged in stack_trace else "")


# What `_memo_package` gives for an event a standard-library logger logged: its package is read from
# the traceback (`frames_package`), so the memo keeps those apart from events of no program package.
_FROM_FRAMES: Final = "<frames>"


def _memo_package(doc: Mapping[str, Any]) -> str:
    """The program package of `doc` as the memo keys it: `program_package`, else `_FROM_FRAMES` when a
    standard-library logger logged it."""
    return program_package(doc) or (_FROM_FRAMES if _stdlib_logged(doc) else "")


def program_package(doc: Mapping[str, Any]) -> str:
    """The program's top-level package as the event's logger names it (`logging.getLogger(__name__)`:
    `fleetapp.billing` -> `fleetapp`); "" when the name is no package of a program: the root logger,
    `__main__`, not an identifier, or a standard-library module (`asyncio`, `concurrent`)."""
    return _logger_package(_text(_field(doc, "log.logger", "log", "logger")))


@functools.lru_cache(maxsize=256)
def _logger_package(logger: str) -> str:
    package = logger.partition(".")[0]
    if not package.isidentifier() or package in _NO_PROGRAM or package in sys.stdlib_module_names:
        return ""
    return package


_NO_PROGRAM: Final = frozenset({"root", "__main__"})


def _package_in(stack_trace: str, doc: Mapping[str, Any]) -> str:
    """`program_package(doc)` when the traceback may hold a frame of it, else ""; for an event a
    standard-library logger logged, the package its frames show (`frames_package`)."""
    package = program_package(doc)
    if stack_trace and (_framework_logged(stack_trace, package) if package else _stdlib_logged(doc)):
        package = frames_package(stack_trace)
    return package if package and package in stack_trace else ""


def _framework_logged(stack_trace: str, package: str) -> bool:
    """Whether `package`, the one the event's logger names, is a framework's that called the program
    rather than the program's: in one of the text's tracebacks (each of a chain's, or a worker's quoted
    one, read apart) a frame of the package installed in site-/dist-packages calls, further in, a
    module file that is installed nowhere and is not the package's. Django logs
    a view's failure on `django.request`, Celery a task's on `celery.app.trace`, uvicorn an app's on
    `uvicorn.error`: keyed as the package's own, every view's `DoesNotExist` was one group. The code
    called is the program, and its frames name its package (`frames_package`). A program installed
    itself and started by a script outside (a console script's `<module>` frame) is not called by its
    own frames: it stays the logger's."""
    installed = _installed_file(package)
    frame = installed.search(stack_trace)
    if frame is None:
        return False  # (nearly every event: the package is not installed where its frames show)
    at = frame.end()
    posix_files = stack_trace.count(_POSIX_FILE, at)
    if "\\" not in stack_trace and posix_files <= stack_trace.count(_LIB_DIRECTORY, at):
        return False  # (an installed program: each absolute file after it is in an interpreter's lib/)
    # Each frame's file after it, in a loop of fast searches: a regular expression that skipped the
    # installed files cost this check as much as a tenth of keying a traceback.
    while (line := stack_trace.find(_FILE_QUOTE, at)) >= 0:
        start = line + len(_FILE_QUOTE)
        end = stack_trace.find('"', start)
        if end < 0:
            return False
        if stack_trace.find(_TRACEBACK_HEADER, at, line) >= 0:
            # another traceback (a chain's link, a worker's quoted one): read apart, from its first
            # frame of the package on
            frame = installed.search(stack_trace, line)
            if frame is None:
                return False
            at = frame.end()
            continue
        path = stack_trace[start:end]
        if _local_source_file(path):
            return _program_path(path, package) is None  # (the package's own code: the program's)
        at = end
    return False


@functools.lru_cache(maxsize=64)
def _installed_file(package: str) -> re.Pattern[str]:
    """A frame's file of `package` installed: its directory or module file right after site-/dist-packages
    (where a framework is installed; an egg's or a wheel's path is not looked for). The pattern starts
    with the package's name, which the engine finds fast, and looks behind it for the install root:
    every event of a program's logger asks, and a text names site-packages at every library frame."""
    name = re.escape(package)
    return re.compile(rf'{name}(?<=-packages[/\\]{name})(?:[/\\][^"\n]*|\.py)"')


@functools.lru_cache(maxsize=1024)
def _local_source_file(path: str) -> bool:
    """Whether a frame's file is a module's source outside any install and the standard library, by its
    absolute path (a relative one is a compiled extension's source, Cython's `src/lxml/etree.pyx`, or a
    frozen module's, never a view's): what a framework calls of the program."""
    absolute = path[:1] in ("/", "\\") or path[1:3] in (":\\", ":/")
    return absolute and path.endswith(".py") and _kind(path) is FrameKind.APPLICATION


_FILE_QUOTE: Final = 'File "'
# A frame's absolute POSIX file, and the directory every interpreter's standard library and installed
# packages share (a venv's, Debian's, conda's, pyenv's, macOS's and the user's site alike): where no file
# after the package's frame is outside one, none is the program's (Windows paths are read one by one).
_POSIX_FILE: Final = 'File "/'
_LIB_DIRECTORY: Final = "/lib/python"
_TRACEBACK_HEADER: Final = "Traceback (most recent call last)"


def _stdlib_logged(doc: Mapping[str, Any]) -> bool:
    """Whether a standard-library module's logger logged the event (`asyncio`'s "Task exception was
    never retrieved", `concurrent.futures`'): it reports the program's failure and names no program."""
    return _stdlib_logger(_text(_field(doc, "log.logger", "log", "logger")))


@functools.lru_cache(maxsize=256)
def _stdlib_logger(logger: str) -> bool:
    package = logger.partition(".")[0]
    return package in sys.stdlib_module_names and package not in _NO_PROGRAM


def frames_package(stack_trace: str) -> str:
    """The program's top-level package as a traceback's own frames show it, for an event whose logger
    names none of the program's (a standard-library logger: a task's or a pool's failure), "" when they
    show none. Frames outside the standard library and installed packages are the program's: the package
    is the directory their files share (the file's stem when they are one file without a directory).
    Without such frames, the outermost frame of an installed package is the program's (its entry: a
    task's coroutine, a pool's function), installed on the host (Debian's dist-packages, a Docker
    image's site-packages): its package. (A task a library started is its library's: its raises are
    then keyed as that library's own, as before.)"""
    files = [path for path in _IN_APP_FILE_RE.findall(stack_trace) if not path.startswith("<")]
    local = [path.replace("\\", "/") for path in files if _kind(path) is FrameKind.APPLICATION]
    if local:
        directories = {path.rpartition("/")[0] for path in local}
        shared = _shared_directory(directories)
        name = "" if shared in directories else _top_directory(local[-1], shared)
        name = name or (shared.rpartition("/")[2] if shared else "")
        if not name and len(set(local)) == 1 and "/" not in local[0]:
            name = local[0].rpartition(".")[0]
    else:
        # (of the final exception's traceback: a chain prints its causes first, and a cause's first frame
        # is the library's that failed below the program, `urllib3` under `requests`)
        final = max(stack_trace.rfind("\n" + sentence) for sentence in renderers.LINK_SENTENCES)
        if final > 0:  # (at a line's start: a group member's link is boxed, `| `)
            files = [path for path in _IN_APP_FILE_RE.findall(stack_trace, final) if not path.startswith("<")]
        installed = next((path for path in files if _kind(path) is FrameKind.THIRD_PARTY), "")
        name = _installed_package(installed.replace("\\", "/")) if installed else ""
    return name if name.isidentifier() and not _stdlib_logger(name) else ""


def _top_directory(path: str, shared: str) -> str:
    """The directory right under `shared` that holds `path`, "" when `path` lies in `shared` itself.
    Frames of several apps of one project, none in the directory they share (`/srv/proj/shop/views.py`
    calling `/srv/proj/billing/rates.py`), share the project's checkout, whose name is the host's
    (`proj`, `/app`, a CI workspace): taken for the package, it entered the keys of the apps' frames, so
    one bug had a key per host. The innermost frame's app is the package instead, as its own logger
    would name it. (A module in the shared directory leaves it the package: `shop/views.py` calling
    `shop/pay/cards.py` is one app, and a script beside its apps looks the same.)"""
    if not shared or not path.startswith(shared + "/"):
        return ""
    top, nested, _ = path[len(shared) + 1 :].partition("/")
    return top if nested else ""


def _shared_directory(directories: set[str]) -> str:
    """The longest directory (parts joined by "/") that holds each of `directories`."""
    parts = [directory.split("/") for directory in directories]
    shared: list[str] = []
    for column in zip(*parts, strict=False):
        if len(set(column)) > 1:
            break
        shared.append(column[0])
    return "/".join(shared)


def _installed_package(path: str) -> str:
    """The top-level package (or module) of an installed file: its path's part after its innermost
    install directory (`_INSTALL_ROOTS`)."""
    cut = max(path.rfind(root) + len(root) if root in path else -1 for root in _INSTALL_ROOTS)
    first = path[cut:].partition("/")[0] if cut >= 0 else ""
    return first.removesuffix(".py")


def with_package_frames(stack_trace: str, package: str) -> str:
    """The traceback with the path of each frame of `package` cut to `in-app/` and its package, as
    `with_program_frames` does, but stricter, since the package was not named by the user: under
    site-/dist-packages only the package installed there (`.../site-packages/fleetapp/...`), elsewhere
    a directory of that name or the file `<package>.py`, never in the standard library."""
    return _package_files(package).sub(
        lambda match: _package_file_line(match[0], match[1], package), stack_trace
    )


@functools.lru_cache(maxsize=64)
def _package_files(package: str) -> re.Pattern[str]:
    """The `File "..."` of frames whose path has `package` as a directory or as `<package>.py` (the
    candidates `_package_file_line` decides on: the other frames are never looked at)."""
    name = re.escape(package)
    return re.compile(rf'File "((?:[^"\n]*[/\\])?{name}(?:[/\\][^"\n]*|\.py))"')


def _package_file_line(line: str, filename: str, package: str) -> str:
    """`line` (a frame's `File "..."`), its path cut to `in-app/` if it is a file of `package`."""
    path = _program_path(filename, package)
    return line if path is None else f'File "{_IN_APP_MARK}{path}"'


@functools.lru_cache(maxsize=2048)
def _program_path(filename: str, package: str) -> str | None:
    """The path of a file of `package` from the package on (see `with_package_frames`), else None;
    memoized: a program's files recur from event to event."""
    path = filename.replace("\\", "/")
    module_file = package + ".py"
    # The innermost install directory: site-/dist-packages, an egg's (also under site-packages: it holds
    # the packages) or a wheel's; the package installed there must come right after it.
    cut = max(path.rfind(root) + len(root) if root in path else -1 for root in _INSTALL_ROOTS)
    if cut >= 0:
        if path[cut:].partition("/")[0] not in (package, module_file):
            return None
        first = path.count("/", 0, cut)  # the index of the part after the install directory
    elif _kind(filename) is not FrameKind.APPLICATION:
        return None
    else:
        first = 0
    parts = path.split("/")
    last = len(parts) - 1
    # From the last part of that name: a checkout's directory (`~/shop/shop/views.py`) or a user
    # (`/home/shop/`) named like the package stays out of the path, which keys the program's frames.
    for index in range(last, first - 1, -1):
        part = parts[index]
        if (part == package and index < last) or (part == module_file and index == last):
            return "/".join(parts[index:])
    return None


_INSTALL_ROOTS: Final = ("-packages/", ".egg/", ".whl/")


def _is_program_frame(lines: str, filename: str, package: str) -> bool | None:
    """Whether the frame of `lines`, whose file name the frame regex reads as `filename`, is the
    program's: marked `in-app/`, or a file of `package`; None when the general parser must decide (a
    quote in the file name)."""
    if filename.startswith(_IN_APP_MARK):
        return True
    if not package or package not in lines:  # (most library frames: no test of the path)
        return False
    if '"' in filename:
        return None
    return _program_path(filename, package) is not None


def _named(stack_trace: str, doc: Mapping[str, Any]) -> str:
    """The traceback with the qualified names the handler recorded (`logloop.qualnames`: functions
    whose bare names collide in their file) in its frame lines; as it is for other events."""
    if not stack_trace or ("logloop" not in doc and "logloop.qualnames" not in doc):
        return stack_trace
    return with_qualnames(stack_trace, _field(doc, "logloop.qualnames", "logloop", "qualnames"))


def _user_parts(doc: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The fingerprint the program set on the event (`extra={"fingerprint": [...]}`), if any."""
    if "extra" not in doc and "extra.fingerprint" not in doc:
        return None
    return user_fingerprint(_field(doc, "extra.fingerprint", "extra", "fingerprint"))


def _customised(doc: Mapping[str, Any], options: GroupingOptions, *, errors_only: bool) -> Fingerprint | None:
    """The key with the options and the event's own fingerprint applied (see `shipper.grouping.options`):
    frames of `in_app` packages marked, ignored frames dropped, a matching rule's `group_by`, then the
    event's fingerprint parts (`{{ default }}` standing for the key so far). The title stays the default."""
    stack_trace = _named(stack_trace_text(_field(doc, "error.stack_trace", "error", "stack_trace")), doc)
    if errors_only and not (stack_trace or is_error_document(doc)):
        return None
    stack_trace = stack_trace or traceback_in_message(doc)
    if stack_trace and options.in_app:
        stack_trace = with_program_frames(stack_trace, options.in_app)
    elif stack_trace:
        package = _package_in(stack_trace, doc)
        stack_trace = with_package_frames(stack_trace, package) if package else stack_trace
    if stack_trace and options.ignored_modules:
        stack_trace = without_frames(stack_trace, options.ignored_modules)
    found = _fingerprint(doc, stack_trace)
    error_type = _text(_field(doc, "error.type", "error", "type"))
    message = _message(doc)
    if options.rules:
        final = parse_traceback(normalized(stack_trace)).final if has_frame_lines(stack_trace) else None
        frames = final.frames if final is not None else ()
        if final is not None:
            error_type, message = error_type or final.type, message or final.message
        module = (
            dotted_module(frames[-1].filename)
            if frames
            else _text(_field(doc, "log.logger", "log", "logger"))
        )
        rule = options.rule_for(error_type, module, _first_line(message))
        if rule is not None and rule.group_by == "message":
            found = _make(
                "rule:message", _short_type(error_type), _masked_first_line(message), title=found.name
            )
        elif rule is not None and rule.group_by == "caller":
            inlined = _outermost_inlined(frames)  # the caller as Python 3.12+ prints the frames
            if len(inlined) > 1:
                found = _make("rule:caller", found.key, _frame_signature(inlined[-2]), title=found.name)
    parts = _user_parts(doc)
    if parts is not None:
        found = _make("user", *_user_values(parts, doc, found.key, stack_trace), title=found.name)
    return found


def _user_values(parts: tuple[str, ...], doc: Mapping[str, Any], default: str, stack_trace: str) -> list[str]:
    """The event's fingerprint parts with each variable (`options.fingerprint_variable`) replaced by
    its value; the exception and its raising frame are read only when a part asks for them."""
    values: list[str] = []
    final: Any = None
    for part in parts:
        name = fingerprint_variable(part)
        if name is None or name == "default":
            values.append(part if name is None else default)
            continue
        if name in ("level", "logger"):
            values.append(_text(_field(doc, f"log.{name}", "log", name)))
            continue
        if final is None:
            final = parse_traceback(normalized(stack_trace)).final if has_frame_lines(stack_trace) else False
        frame = final.frames[-1] if final and final.frames else None
        if name == "type":
            values.append(
                _short_type(_text(_field(doc, "error.type", "error", "type")) or (final and final.type) or "")
            )
        elif name == "message":
            values.append(_masked_first_line(_message(doc) or (final and final.message) or ""))
        elif name == "function":
            origin = _text(get_field(doc, "log.origin.function"))
            values.append(frame.function if frame is not None else origin)
        else:
            logger = _text(_field(doc, "log.logger", "log", "logger"))
            values.append(module_tail(frame.filename).replace("/", ".") if frame is not None else logger)
    return values


def dotted_module(filename: str) -> str:
    """A frame's module as dots: the path after site-/dist-packages (or the `in_app` mark), else the
    whole path (rule patterns match its end: `myapp.db.*` matches `home.dev.src.myapp.db.models`)."""
    path = filename.replace("\\", "/")
    cut = max(path.rfind("-packages/") + len("-packages/") if "-packages/" in path else 0, 0)
    if path.startswith(_IN_APP_MARK):
        cut = len(_IN_APP_MARK)
    dotted = path[cut:].removesuffix(".py").replace("/", ".").strip(".")
    return dotted.removesuffix(".__init__")


def without_frames(stack_trace: str, modules: tuple[str, ...]) -> str:
    """The traceback without the frames (their File line and the lines under it) of `modules`, fnmatch
    patterns of dotted module names matched against the whole name or its end."""

    def keep(match: re.Match[str]) -> str:
        module = dotted_module(match[2])
        if any(
            fnmatch.fnmatchcase(module, pattern) or fnmatch.fnmatchcase(module, "*." + pattern)
            for pattern in modules
        ):
            return ""
        return match[0]

    return _FRAME_TEXT_RE.sub(keep, stack_trace)


# One frame as printed: its File line, then the more-indented lines under it (source, carets).
_FRAME_TEXT_RE: Final = compile_cached(
    r'^([ \t]+)File "([^"\n]*)"[^\n]*\n(?:\1[ \t]+(?!File ")[^\n]*\n)*', re.MULTILINE
)


def with_program_frames(stack_trace: str, in_app: tuple[str, ...]) -> str:
    """The traceback with the path of each `in_app` file (a package name as a directory, or a path
    pattern) cut to `in-app/` and its package, so its frames are told as the program's wherever it is
    installed, and keyed by that path (`module_tail`). A name is matched where a package of the program
    can be (`_program_start`), a pattern against the whole path (the file keeps its directory)."""
    plain = tuple(item for item in in_app if not any(char in item for char in "*?[/\\"))
    names = tuple(map(_name_parts, plain))
    # A path pattern matches paths of either system: both written with forward slashes.
    patterns = tuple(item.replace("\\", "/") for item in in_app if item not in plain)

    def relabel(match: re.Match[str]) -> str:
        path = match[1]
        parts = _PATH_PARTS_RE.split(path)
        start = _program_start(path, parts, names)
        if start is not None:
            # No install prefix left to look like a library, nor to make the key depend on the install.
            return f'File "{_IN_APP_MARK}{"/".join(parts[start:])}"'
        if any(fnmatch.fnmatch(path.replace("\\", "/"), pattern) for pattern in patterns):
            return f'File "{_IN_APP_MARK}{"/".join(parts[-2:])}"'
        return match[0]

    return _IN_APP_FILE_RE.sub(relabel, stack_trace)


def _name_parts(name: str) -> tuple[str, ...]:
    """An `in_app` name as the path parts it stands for: `acme.shop` -> ("acme", "shop") (a namespace
    package's part); a script's file name (`tool.py`) or a name with no dot stays one part."""
    return (name,) if name.endswith(".py") else tuple(name.split("."))


def _program_start(path: str, parts: list[str], names: tuple[tuple[str, ...], ...]) -> int | None:
    """Where in `parts` (the path `path` cut at its separators) a package of `names` starts, looked
    for only where a program's package can be: right after site-/dist-packages or a wheel's directory
    (an installed program; a library's own subpackage of that name is not it), never in the standard
    library (a project's `json` or `lib` package is not the interpreter's), anywhere in other paths
    (the last place it matches). None when none does."""
    installed = next(
        (
            index
            for index in range(len(parts) - 1, -1, -1)
            if parts[index].lower() in _INSTALL_DIRECTORIES or parts[index].endswith(".whl")
        ),
        None,
    )
    if installed is not None:
        first = installed + 1
        if first < len(parts) and parts[first].endswith(".egg"):
            first += 1  # an egg's directory holds its packages
        starts: Iterable[int] = (first,)
    elif _kind(path) is FrameKind.STDLIB:
        return None
    else:
        # The last place a name matches (`_program_path`: a checkout or a user named like the package
        # stays out of the path that keys the program's frames).
        starts = range(len(parts) - 1, -1, -1)
    last = len(parts) - 1
    for start in starts:
        for name in names:
            end = start + len(name) - 1  # the part the name's last part must be
            if end > last or parts[start:end] != list(name[:-1]):
                continue
            if parts[end] == name[-1] or (end == last and parts[end] == f"{name[-1]}.py"):
                return start
    return None


_INSTALL_DIRECTORIES: Final = frozenset({"site-packages", "dist-packages"})
_IN_APP_FILE_RE: Final = compile_cached(r'File "([^"\n]*)"')
_PATH_PARTS_RE: Final = compile_cached(r"[/\\]")
_IN_APP_MARK: Final = "in-app/"
_PLAIN_FRAME_LINE: Final = '\n  File "'  # a frame line as `scan_plain` finds them (`tracebacks._PLAIN_FRAME`)


def _fingerprint(
    doc: Mapping[str, Any], stack_trace: str, *, package: str = "", fast_path_tried: bool = False
) -> Fingerprint:
    """The key of an event; `package`: the program's (`program_package`), whose frames the general path
    reads marked (`with_package_frames`) and the fast path tells by their path."""
    if stack_trace:
        found = None if fast_path_tried else fingerprint_plain(stack_trace, package)
        if found is None and 'File "' not in stack_trace:  # (no Python frame: a Java exception, a Go panic?)
            found = _shape_fingerprint(stack_trace, doc)
        if found is None:
            # (Normalized first: the frame lines another renderer drew, rich's or IPython's, are then
            # `File "..."` lines, where the package's frames are marked.)
            marked = with_package_frames(normalized(stack_trace), package) if package else stack_trace
            context = (
                _unraisable_context(stack_trace)
                if stack_trace[:1] == "E" and stack_trace.startswith(_UNRAISABLE)
                else ""
            )
            found = _fingerprint_stack_trace(marked, doc, context)
        if found is not None:
            return found
    else:
        found = _shape_fingerprint(_message(doc), doc)
        if found is not None:
            return found
    logger = _text(_field(doc, "log.logger", "log", "logger"))
    error_type = _short_type(_text(_field(doc, "error.type", "error", "type")))
    template = _text(_field(doc, "logloop.template", "logloop", "template"))
    # (A traceback without frame or exception line, cut short: its first line as `traceback` prints it,
    # not another renderer's drawing of it.)
    message = _message(doc) or (normalized(stack_trace) if stack_trace else "")
    # (The title names the logging call; the key does not: one template logged from two places of
    # one logger is one group, titled after the first.)
    culprit = titles.logged_culprit(
        logger, get_field(doc, "log.origin.file.name"), get_field(doc, "log.origin.function")
    )
    if template and titles.names_a_statement(template):  # (`%s` alone names no statement)
        masked_template = _mask_line(template[:_MESSAGE_LIMIT])
        return _make(
            "template",
            logger,
            error_type,
            masked_template,
            title=titles.template_title(error_type, template, message, culprit),
        )
    # The first line only: the lines after it are detail (rows, lists, dumps) of variable number.
    return _make(
        "message",
        logger,
        error_type,
        _masked_first_line(message),
        title=titles.title(error_type, message, culprit, _mask_line),
    )


def _shape_fingerprint(text: str, doc: Mapping[str, Any]) -> Fingerprint | None:
    """The key of text without a Python frame that still says where it failed: a Java exception's or a
    Go panic's frames (`shipper.grouping.foreign`), a location line (`shop/w.py:12: DeprecationWarning:
    ...`, as `warnings` and pytest's `--tb=line` print one: `renderers.from_location_line`)."""
    foreign = read_foreign(text)
    if foreign is not None:
        title = titles.title(foreign.type, foreign.message, foreign.culprit, _mask_line)
        return _make("foreign", foreign.signature, title=title)
    located = renderers.from_location_line(text)
    return None if located is None else _fingerprint_stack_trace(located, doc)


def _message(doc: Mapping[str, Any]) -> str:
    """The event's error message, else its message, without terminal colours."""
    return without_colours(
        _text(_field(doc, "error.message", "error", "message")) or _text(doc.get("message"))
    )


def _fingerprint_stack_trace(
    stack_trace: str, doc: Mapping[str, Any], context: str = ""
) -> Fingerprint | None:
    """The traceback fingerprint by the general path (`fingerprint_plain` has declined); None for text
    without frames or exception line. `context`: the line its key starts with (`_unraisable_context`
    of the text as the event has it: the normalized text has no header)."""
    text = normalized(stack_trace)
    # `scan_traceback` parses only the frames the key needs; it declines ExceptionGroup boxes, which
    # are told by their "+-+" (tested here first: a scan of the long text of a group less).
    chain = None if "+-+" in text else scan_traceback(text)
    if chain is None:
        found = _fingerprint_groups(text, context)
        if found is not None:
            return found
        parsed = parse_traceback(text)
        if parsed.final.frames and not parsed.final.type:
            parsed = _with_final_exception(parsed, doc)  # frames only, as traceback.format_tb prints
        if not (parsed.final.type or parsed.final.frames):
            return None
        if not context:
            return fingerprint_traceback(parsed)
        signature, (exc_type, message, _) = _chain(parsed)
        return _make("traceback", context + signature, title=_title(exc_type, message, signature))
    final = chain[-1]
    has_frames = bool(final.frames)
    if has_frames and not final.type:
        final = final._replace(type=_text(_field(doc, "error.type", "error", "type")), message=_message(doc))
        chain = (*chain[:-1], final)
    if not (final.type or has_frames):
        return None
    if len(chain) == 1:
        signature = _scanned_signature(final)
    else:
        kept = [record for record in chain[:-1] if not _is_cancellation(record.type)]
        kept.append(final)
        signature = "\n".join(_scanned_signature(record, index > 0) for index, record in enumerate(kept))
    return _make("traceback", context + signature, title=_title(final.type, final.message, signature))


def _unraisable_context(text: str) -> str:
    """For a traceback the interpreter printed of an exception it could not raise (`sys.unraisablehook`:
    a finalizer's, `__del__`, a weakref callback's, a generator's or coroutine's closing), the line its
    key starts with: the qualified name of the function it was ignored in (`Conn.__del__`), which its
    header names (`Exception ignored in: <function Conn.__del__ at 0x7f...>`) and its frames do not (they
    print `__del__`: every class's finalizer of one module raising one statement's text was one group);
    "" for another header (an object of another kind: `<socket.socket fd=3 ...>`)."""
    named = _UNRAISABLE_RE.match(text)
    return "" if named is None else f"ignored|{named[1]}\n"


# The header `sys.unraisablehook` prints above such a traceback (tested on every traceback: its first
# letter first, a slice compared, no call); the callables it names by qualified name.
_UNRAISABLE: Final = "Exception ignored in: <"
_UNRAISABLE_RE: Final = compile_lazily(
    r"Exception ignored in: <(?:function|bound method|coroutine object|generator object"
    r"|async_generator object) ([\w.<>]+)[ >]"
)


def fingerprint_plain(stack_trace: str, package: str = "") -> Fingerprint | None:
    """The fast path: the fingerprint of a traceback printed the plain way (see `scan_plain`), from
    its innermost frames only; None for the others. Where it answers, it is the fingerprint the general
    parser gives (`fingerprint_traceback(parse_traceback(stack_trace))`)."""
    chain = scan_plain(stack_trace)
    if chain is None:
        return None
    final = chain[-1]
    if len(chain) == 1:
        record = _plain_record(final, False, package)
        signature = None if record is None else f"{final.link}|{record}"  # `chain_signature`'s line
    else:
        signature = _plain_signature(chain, package)
    if signature is None:
        return None
    if stack_trace[:1] == "E" and stack_trace.startswith(_UNRAISABLE):
        signature = _unraisable_context(stack_trace) + signature
    if len(signature) + len(final.type) + len(final.message) <= _CACHED_LENGTH:
        return _traceback_fingerprint_of(signature, final.type, final.message)
    return _traceback_fingerprint(signature, final.type, final.message)


def _traceback_fingerprint(signature: str, type_name: str, message: str) -> Fingerprint:
    """The fingerprint of a traceback of this signature whose final exception is `type_name: message`."""
    return _make("traceback", signature, title=_title(type_name, message, signature))


def _plain_signature(chain: tuple[PlainException, ...], package: str = "") -> str | None:
    """`chain_signature` of a chain `scan_plain` gave; None where the general path must decide."""
    lines: list[str] = []
    last = len(chain) - 1
    for index, exception in enumerate(chain):
        if index < last and _is_cancellation(exception.type):
            continue
        record = _plain_record(exception, bool(lines), package)
        if record is None:
            return None
        line = f"{exception.link}|{record}"
        if not lines or line != lines[-1]:  # (a link keyed as the one before it: see `_chain`)
            lines.append(line)
    return lines[0] if len(lines) == 1 else "\n".join(lines)


def _plain_record(exception: PlainException, chained: bool = False, package: str = "") -> str | None:
    """`_record_signature` of a plain exception (`chained`: not the first of its chain; `package`: the
    program's, its frames unmarked in the text); None where the general path must decide: a
    RecursionError whose innermost frame does not repeat, a frame `read_frame` declines."""
    innermost = exception.frame_lines
    site = _site_in(innermost, package)
    if site is None:
        return None
    signature, mode, kind = site[0], site[1], site[4]
    message = exception.message
    if _QUOTES in message and (mode != _NO_SOURCE or tracebacks.IPYTHON_REPORT in message):
        return None  # a quoted traceback (`_quoted_report`): the general path reads it
    short_type = _RENAMED_TYPES.get(exception.type) or exception.type.rsplit(".", 1)[-1]  # `_short_type`
    if short_type in _INTERRUPTS:
        return _plain_interrupt(exception, site, short_type, package)
    if short_type == "RecursionError":
        cycle = _plain_recursion_cycle(exception, package)  # its site is the set of frames that repeat
        return None if cycle is None else f"{short_type}|cycle:{cycle}"
    name = site[5]  # `_compiled_text_name`, inline: every traceback passes here
    if (name[:1] == "<" or ("/" not in name and "\\" not in name)) and _COMPILED_TEXT_RE.match(innermost):
        return None  # where compiled text failed to parse (`_compiled_text_site`): the general path decides
    after: Iterator[str | None] | None = None  # the lines of the frames outside the site's, when not all
    if kind is FrameKind.STDLIB:  # `_innermost_outside_stdlib`, else the innermost frame
        after = outer_frame_lines(exception)
        for lines in after:
            outer = None if lines is None else _site_in(lines, package)
            if outer is None:
                return None
            if outer[4] is not FrameKind.STDLIB:
                signature, mode, kind, site = outer[0], outer[1], outer[4], outer
                break
        else:
            after = None
    if (kind is FrameKind.THIRD_PARTY or mode == _NO_SOURCE) and (package or _IN_APP_MARK in exception.text):
        # `_site_frame`: the program's innermost frame (`_library_caller`), when there is one.
        frames = itertools.chain((exception.frame_lines,), outer_frame_lines(exception))  # lazily
        unmarked: _Site | None = None  # the innermost frame of other code outside installed packages
        passed: list[str | None] = []  # the lines of the frames read since `unmarked`
        for lines in frames:
            frame = None if lines is None else _site_in(lines, package)
            if lines is None or frame is None:
                return None
            program = _is_program_frame(lines, frame[5], package)
            if program is None:
                return None
            if program:
                if unmarked is not None:
                    frame, frames = unmarked, itertools.chain(passed, (lines,), frames)
                signature, mode, site, after = frame[0], frame[1], frame, frames
                break
            if unmarked is not None:
                passed.append(lines)
            elif frame[4] is FrameKind.APPLICATION and not frame[5].startswith("<"):
                if frame[1] != _NO_SOURCE:
                    unmarked = frame  # `_unmarked_program_code`: the caller, if the program's frames follow
                elif frame[3] in _INLINED:
                    return None  # the frame `_inlined` leaves out (its function's) may show a source line
    if mode == _NO_SOURCE and _generated_code(site[5]):  # `_generated_code_caller`, with the message
        callers = outer_frame_lines(exception) if after is None else after
        for lines in callers:
            frame = None if lines is None else _site_in(lines, package)
            if frame is None:
                return None
            if frame[4] is FrameKind.STDLIB or (frame[1] == _NO_SOURCE and _generated_code(frame[5])):
                continue
            if frame[3] in _INLINED:
                return None  # (`_as_inlined`: the general path decides)
            signature = frame[0] if frame[1] == _NO_SOURCE else frame[0] + "|msg:"
            site, after = frame, callers
            break
    if _STACKLEVEL in signature and mode != _NO_SOURCE:  # `_blamed_frame`
        callers = outer_frame_lines(exception) if after is None else after
        blamed = _plain_blamed(site, callers, package)
        if blamed is None:
            return None
        signature, mode, site, after = blamed[0], blamed[1], blamed, callers
    if site[3] in _INLINED:  # a comprehension's frame, as Python 3.12+ prints it (`_inlined`)
        function = _enclosing_function(site, outer_frame_lines(exception) if after is None else after)
        if function is None:
            return None
        if function:
            tail = _keyed_tail(site[5], package) or ""  # (`_site_in` has read this file name)
            signature = f"{tail}:{function}:{signature[len(tail) + len(site[3]) + 2 :]}"
    if mode == _NO_SOURCE:
        if package and _HEADER_LINE in exception.message:
            return None  # a quoted traceback: its frames are the package's too (the general path marks them)
        signature += _message_part(exception.message)
    elif mode == _BUILDS_MESSAGE and not chained:
        source = signature.split(":", 2)[-1]  # `_site_parts`' source line, as the signature holds it
        if site[3] not in _INLINED and _PASSED_ON_RE.fullmatch(source):  # (`_message_author`)
            lines = next(outer_frame_lines(exception) if after is None else after, "")
            caller = None if lines is None else _site_in(lines, package) if lines else ""
            if caller is None:
                return None
            if caller and caller[1] != _NO_SOURCE and caller[3] not in _INLINED:
                statement = caller[0].split(":", 2)[-1]
                if _writes_message(statement, exception.message):
                    signature, source = caller[0], statement
        signature = _with_message(signature, "raise", source, exception.message)
    if short_type in _SYNTAX_FAMILY:
        short_type = _syntax_type(short_type, signature)
    return f"{short_type}|{signature}"


_Piece = TypeVar("_Piece", str, int)  # how `_counted_cycle` tells frames apart: their text, or an object's id


def _plain_interrupt(
    exception: PlainException, innermost: _Site, short_type: str, package: str
) -> str | None:
    """`_record_signature` of a plain KeyboardInterrupt or CancelledError (see `_site_parts`): the
    function of its outermost frame outside the standard library (else of its innermost frame); None
    where the general path must decide (a frame it declines)."""
    entry = innermost if innermost[4] is not FrameKind.STDLIB else None
    for lines in outer_frame_lines(exception):
        frame = None if lines is None else _site_of(lines)
        if frame is None:
            return None
        if frame[4] is not FrameKind.STDLIB:
            entry = frame
    entry = entry or innermost
    tail = _keyed_tail(entry[5], package)
    return None if tail is None else f"{short_type}|{tail}:{entry[3]}:"


def _plain_blamed(site: _Site, callers: Iterator[str | None], package: str) -> _Site | None:
    """`_blamed_frame` of a plain exception's site, from the lines of the frames outside it (`callers`,
    innermost first; read up to the blamed one); None where the general path must decide (a frame it
    declines, a comprehension's frame or one without source blamed)."""
    level = _STACKLEVEL_RE.search(site[0])
    if level is None:
        return site
    if site[3] in _INLINED:
        return None  # (a warning in a comprehension: `_inlined` renames its frame first)
    blamed: _Site | None = site
    for _ in range(int(level[1]) - 1):
        lines = next(callers, "")
        if not lines:
            return site  # (the traceback starts below the frame it blames)
        blamed = _site_in(lines, package)
        if blamed is None:
            return None
    if blamed is None or blamed[3] in _INLINED or blamed[1] == _NO_SOURCE:
        return None
    return blamed


def _enclosing_function(site: _Site, outer: Iterator[str | None]) -> str | None:
    """The function of the frame a comprehension's frame `site` stands in as Python 3.12+ prints it
    (`_inlined`), from the lines of the frames outside it, innermost first: "" for none (it keeps its
    own); None where the general path must decide."""
    for lines in outer:
        frame = None if lines is None else _site_of(lines)
        if frame is None:
            return None
        if frame[5] != site[5]:
            return ""
        if frame[3] not in _INLINED:
            return frame[3]
    return ""


def _plain_recursion_cycle(exception: PlainException, package: str = "") -> str | None:
    """`_recursion_cycle` of a plain exception's frames, each read through the frame memo (`package`:
    the program's, see `_site_in`); None where the general path must decide (a frame it declines, no
    frame that repeats)."""
    # The frames `outer_frame_lines` yields are the pieces of the text between the header and the
    # innermost frame, cut at each frame line; a recursion repeats the same few pieces hundreds of
    # times, so each distinct piece is read once, and counted (not walked frame by frame).
    text = exception.text
    pieces = text[text.find("\n") : exception.frame_line].split(_PLAIN_FRAME_LINE)
    if 'File "' in pieces[0]:
        return None  # a frame line indented otherwise: the general path decides
    outer = pieces[1:]  # outermost first; the innermost frame is `exception.frame_lines`
    counted = Counter(outer)  # (in the order of their first occurrence)
    weighted: dict[str | None, tuple[str, int]] = {}  # a piece -> (its signature, frames it stands for)
    stdlib: set[str] = set()  # the signatures of standard-library frames
    comprehensions = False
    for piece in (*counted, None):  # (None: the innermost frame)
        lines = exception.frame_lines if piece is None else f'  File "{piece}\n'
        site = _site_in(lines, package)
        if site is None:
            return None
        signature = site[0].removesuffix("|msg:") if site[1] == _NO_SOURCE else site[0]
        marker = _MARKER_COUNT_RE.search(lines) if site[2] else None
        weighted[piece] = (signature, 1 + (int(marker[1]) if marker else 0))
        if site[4] is FrameKind.STDLIB:
            stdlib.add(signature)
        comprehensions = comprehensions or site[3] in _INLINED
    if comprehensions:  # frames that Python 3.12+ would not print: walked, as the general path does
        cycle = _read_recursion_cycle([*outer, None], exception.frame_lines, package)
    else:
        cycle = _counted_cycle(outer, counted, weighted)
    if not cycle or stdlib.issuperset(cycle):
        return None  # none, or one of the standard library's alone: the general path adds its entry
    return ";".join(cycle)


def _read_recursion_cycle(pieces: list[str | None], innermost: str, package: str = "") -> list[str] | None:
    """`_recursion_cycle` of the frames of `pieces` (see `_plain_recursion_cycle`; None: the innermost
    frame, of the lines `innermost`), each distinct one read by `read_frame` once, as one object (so
    renamed once by `_inlined`), then counted by object as `_counted_cycle` counts pieces; None where
    `read_frame` declines one. A file of `package` is read as `with_package_frames` marks it."""
    frames: dict[str | None, Frame] = {}
    for piece in dict.fromkeys(pieces):
        frame = read_frame(innermost if piece is None else f'  File "{piece}\n')
        if frame is None:
            return None
        filename = frame.filename
        path = _program_path(filename, package) if package and package in filename else None
        filename = filename if path is None else _IN_APP_MARK + path
        frames[piece] = Frame(filename, 0, frame.function, frame.source, frame.repeated)
    inlined = _outermost_inlined(tuple(map(frames.__getitem__, pieces)))  # (holds the objects: their ids)
    outer = list(map(id, inlined))
    weighted: dict[int | None, tuple[str, int]] = {
        key: (_frame_signature(frame), 1 + frame.repeated)
        for key, frame in dict(zip(outer, inlined, strict=True)).items()
    }
    weighted[None] = weighted[outer.pop()]  # the innermost frame's
    return _counted_cycle(outer, Counter(outer), weighted)


def _counted_cycle(
    outer: list[_Piece], counted: Counter[_Piece], weighted: dict[_Piece | None, tuple[str, int]]
) -> list[str]:
    """`_cycle_of` the frames `outer` (outermost first; `counted`: how many times each occurs) then
    the innermost one (`None`), each weighted as `weighted` says: counted in C, not frame by frame."""
    totals = _signature_totals(counted, weighted)
    anchor = next(
        (
            signature
            for signature, _ in itertools.chain((weighted[None],), map(weighted.__getitem__, reversed(outer)))
            if totals[signature] > 1
        ),
        None,
    )
    if anchor is None:
        return []
    anchored = [piece for piece in counted if weighted[piece][0] == anchor]
    start = min(map(outer.index, anchored)) if anchored else len(outer)  # (else the innermost only)
    counts = _signature_totals(Counter(outer[start:]), weighted)
    most = max(counts.values())
    return sorted(signature for signature, count in counts.items() if count > 1 and count * 4 >= most)


def _signature_totals(
    counted: Counter[_Piece], weighted: dict[_Piece | None, tuple[str, int]]
) -> dict[str, int]:
    """How many frames each signature stands for: the pieces `counted`, and the innermost frame."""
    totals: dict[str, int] = {}
    for piece, times in counted.items():
        signature, weight = weighted[piece]
        totals[signature] = totals.get(signature, 0) + weight * times
    signature, weight = weighted[None]
    totals[signature] = totals.get(signature, 0) + weight
    return totals


# How a site's message joins its key: not at all, the masked first line (no source line printed), or
# `_with_message`'s funnel test (a raise statement that builds its message).
_PLAIN_SITE, _NO_SOURCE, _BUILDS_MESSAGE = 0, 1, 2
# A frame's site: its signature without the message part, how the message joins it, whether a recursion
# marker repeats it, its function, where its code lives, and its file name as the frame regex reads it.
_Site = tuple[str, int, bool, str, FrameKind, str]


def _frame_site(lines: str) -> _Site | None:
    """`_read_site(lines)`, memoized by what a site depends on: the file's module tail for its path
    (whether that is standard library code is told from the path apart) and the lines after the line
    number, with a recursion marker's count only as whether there is one (nor does the frame regex
    read the blanks before "File"). So a frame is read once for all its line numbers and install
    locations (venv, /opt, dist-packages: the same code)."""
    if len(lines) > _CACHED_LINES:  # the memo's keys stay small
        return _read_site(lines)
    numbered = _NUMBERED_FILE_RE.match(lines)
    if numbered is None:  # no frame (the frame regex declines it too)
        return _read_site(lines)
    filename = numbered[1]
    rest = lines[numbered.end() :]
    marker = _MARKER_COUNT_RE.search(rest) if "[Previous" in rest else None  # its last line, a marker?
    if marker is not None and int(marker[1]):
        rest = rest[: marker.start(1)] + "1" + rest[marker.end(1) :]
    path = _path_of(filename) if len(filename) <= _CACHED_LENGTH else _path(filename)
    key = (path[0], rest)
    known = _sites_by_frame.get(key)
    if known is None:
        site = _read_site(lines, path)  # (its file name is the one read here: the same first line)
        known = (None if site is None else site[:4],)
        _sites_by_frame.put(key, known)
    found = known[0]
    return None if found is None else (found[0], found[1], found[2], found[3], path[1], filename)


def _path(filename: str) -> tuple[str, FrameKind]:
    """What a frame's site takes from its path: the module tail, and where its code lives."""
    return module_tail(filename), classify_frame(filename)


# A frame's "File" line up to its line number, as the frame regex (`tracebacks.read_frame`) reads it: the
# file name runs to the last '", line N' followed by ", in " or the line end. All else it reads of the
# frame is the file name's text and the text after the number: the number is only the line number.
_NUMBERED_FILE_RE: Final = compile_cached(r'[ \t]+File "([^\n]*)", line \d+(?=, in |\n)')
_MARKER_COUNT_RE: Final = compile_cached(r"\n[ \t]*\[Previous line repeated (\d+) more times?\][ \t]*\n\Z")


def _read_site(lines: str, path: tuple[str, FrameKind] | None = None) -> _Site | None:
    """For the frame of `lines` (see `read_frame`; None if it declines): `_site_signature` of it
    without the message part, how the message joins it (`_NO_SOURCE`: no source line; `_BUILDS_MESSAGE`),
    whether a recursion marker repeats it, its function, where its code lives and its file name. `path`:
    what its file name tells (`_path`), when the caller has it."""
    frame = read_frame(lines)
    if frame is None:
        return None
    filename, function, source, repeated = frame
    tail, kind = path or (_tail(filename), _kind(filename))
    if not function and filename[:1] != "<":  # a module's file that does not compile: `_site_parts`
        return f"{tail}::", _PLAIN_SITE, repeated > 0, function, kind, filename
    if source is None:
        return f"{tail}:{function}:|msg:", _NO_SOURCE, repeated > 0, function, kind, filename
    statement = " ".join(source.split())
    mode = _BUILDS_MESSAGE if _builds_message(statement) else _PLAIN_SITE
    return f"{tail}:{function}:{statement}", mode, repeated > 0, function, kind, filename


def _site_of(lines: str) -> _Site | None:
    """`_frame_site(lines)`, memoized by the lines themselves first."""
    return _frame_site_of(lines) if len(lines) <= _CACHED_LINES else _frame_site(lines)


def _site_in(lines: str, package: str) -> _Site | None:
    """`_site_of(lines)` in a traceback whose frames of `package` (the program's) are not marked: a frame
    of a subpackage of the package keyed by its module's path (`_keyed_tail`), as the general path keys
    it once `with_package_frames` has marked it. The sites' memos stay free of the package: a frame's
    site is read once whoever logged it, and only its key's file is swapped here."""
    site = _frame_site_of(lines) if len(lines) <= _CACHED_LINES else _frame_site(lines)
    if site is None or not package or package not in site[5]:  # (most frames: no test of the path)
        return site
    filename = site[5]
    keyed = (
        _package_tail_of(filename, package)
        if len(filename) <= _CACHED_LENGTH
        else _package_tail(filename, package)
    )
    if not keyed:
        return None if keyed is None else site
    return keyed + site[0][len(_tail(filename)) :], site[1], site[2], site[3], site[4], filename


def _keyed_tail(filename: str, package: str) -> str | None:
    """The module tail that keys a frame of `filename` in a traceback whose frames of `package` are not
    marked (see `_site_in`); None where the general path must decide."""
    keyed = _package_tail(filename, package) if package and package in filename else ""
    return _tail(filename) if keyed == "" else keyed


def _package_tail(filename: str, package: str) -> str | None:
    """The module tail of `filename` once `with_package_frames` has marked it as a file of `package`,
    when that is not its own tail (a subpackage's module: `shop/payments/views`), else ""; None where
    the general path must decide (a quote in the file name: the marking reads file names otherwise than
    the frame regex)."""
    if '"' in filename:
        return None
    directory, _, name = filename.replace("\\", "/").rpartition("/")
    if directory.rpartition("/")[2] == package or name == package + ".py":
        return ""  # (a module of the package's own directory, the last of its name: its stem, as marked)
    path = _program_path(filename, package)
    keyed = "" if path is None else module_tail(_IN_APP_MARK + path)
    return "" if keyed == _tail(filename) else keyed


_package_tail_of: Final = functools.lru_cache(maxsize=1024)(_package_tail)


# A frame's lines repeat from event to event (the raising statement above all): each read once, and
# once for all its line numbers (the statement moved by other code in another version of the file).
_CACHED_LINES: Final = 2048
# 4096 entries (a frame's lines are ~200-300 characters: about 1.5 MB at most): a fleet's frames vary by
# install path and line number, and 1024 was evicting them within 13k events of the evaluation set's ten
# seeds (15,824 distinct frame texts; 9% less time per traceback at 4096).
_frame_site_of: Final = functools.lru_cache(maxsize=4096)(_frame_site)
_path_of: Final = functools.lru_cache(maxsize=1024)(_path)
# The site but whether it is standard library code: its signature, whether the message must follow it,
# whether a recursion marker repeats it, its function.
_sites_by_frame: Final[BoundedMemo[tuple[str, str], tuple[tuple[str, int, bool, str] | None]]] = BoundedMemo(
    1024
)


def _fingerprint_groups(stack_trace: str, context: str = "") -> Fingerprint | None:
    """The fingerprint of a (normalized) traceback with ExceptionGroup boxes, from the fast path's
    signature of each exception and member (members repeat: memoized by text); None where the general
    path must decide. Where it answers, it is `fingerprint_traceback(parse_traceback(stack_trace))`."""
    lines: list[str] = []
    final = None
    chain = list(segments(stack_trace))
    for index, (segment, link) in enumerate(chain):
        final = _group_record(segment, 0, bool(lines))
        if final is None:
            return None
        if index < len(chain) - 1 and _is_cancellation(final[1]):
            continue
        lines.append(f"{final[4]}{link}|{final[0]}")
    if final is None:
        return None
    signature = "\n".join(lines)
    return _make("traceback", context + signature, title=_title(final[1], final[2], signature))


# `_record_signature` of one exception of a chain, its type, its message, whether it was raised (printed
# with frames), and the lines of the chain before it (a group of one failure: that failure's causes).
_GroupRecord = tuple[str, str, str, bool, str]


def _group_record(segment: str, depth: int, chained: bool = False) -> _GroupRecord | None:
    """`_record_signature` of one exception of a chain (a group or not), its type and its message; for a
    group of one failure, that failure's (see `_lone_failure`)."""
    box = group_box(segment, depth)
    own_text = segment if box is None else box.own
    own = plain_exception(own_text)
    raised = own is not None
    if own is not None:
        record = _plain_record(own, chained)
        if record is None:
            return None
        exc_type, message = own.type, own.message
    else:  # printed without traceback (never raised), as members and nested groups often are
        bare = bare_exception(own_text)
        if bare is None:
            return None
        exc_type, message = bare
        if depth > 0:  # a member never raised: its type (see `_record_signature`)
            record = _short_type(exc_type)
        else:
            record = f"{_short_type(exc_type)}|msg:{_message_part(message)}"
    if box is None:
        return record, exc_type, message, raised, ""
    members: dict[str, set[tuple[str, str, bool]]] = {}
    left_out = False
    # Members repeat (the same failure for several items): identical runs of the box are one member of
    # the key's set, and each run's signature is memoized by its boxed text (no unboxing on a repeat).
    for block in set(box.blocks):
        if len(block) <= _CACHED_FRAMES:
            found = _block_signature_of(block, box.column, depth + 1)
        else:
            found = _block_signature(block, box.column, depth + 1)
        if found is None:
            return None
        if found[0]:
            members.setdefault(found[0], set()).add(found[2])
        left_out = left_out or found[1] > 0
    if len(members) == 1 and own is not None and _raised_for_a_task(own.frame_lines):  # (see `_chain`)
        ((signature, finals),) = members.items()
        lone = _lone_failure(signature, finals)
        if lone is not None:
            return lone
    if members or left_out:
        record += "|{" + ";".join(member.replace("\n", "/") for member in sorted(members)) + "}"
    return record, exc_type, message, raised, ""


# Where a task group raises the failures of its tasks: the standard library (asyncio's TaskGroup), anyio's
# and trio's own code. (Compiled when a group first needs it: most programs never raise one.)
_TASK_GROUP_LIBRARY_RE: Final = compile_lazily(r"[/\\](?:site|dist)-packages[/\\](?:anyio|trio)[/\\]")


def _raised_for_a_task(frame_lines: str) -> bool:
    """Whether the frame that raised a group (its lines, see `read_frame`) is a task group's: the standard
    library's or anyio's or trio's, not the program's own statement collecting failures."""
    site = _site_of(frame_lines)
    return site is not None and _wraps_tasks(site[5], site[4])


def _wraps_tasks(filename: str, kind: FrameKind) -> bool:
    return kind is FrameKind.STDLIB or (
        kind is FrameKind.THIRD_PARTY and _TASK_GROUP_LIBRARY_RE.search(filename) is not None
    )


def _lone_failure(signature: str, finals: Iterable[tuple[str, str, bool]]) -> _GroupRecord | None:
    """A group a task group raised (see `_wraps_tasks`) whose members are one failure (raised once, or
    repeated, or a group of one such) is that failure: asyncio's TaskGroup, anyio 4 and trio's strict
    nurseries raise a group for one failed task where `gather`, anyio 3 and older trio raised the failure
    itself. Its chain's `_GroupRecord` (the final type and message of its members the least, for a title
    that does not depend on their order); None for a member never raised. A group the program's own
    statement raised (failures it collected) stays a group: that statement is part of the bug."""
    exc_type, message, raised = min(finals)
    if not raised:
        return None
    head, _, last = signature.rpartition("\n")  # (the failure's last line: its link is "")
    return last[1:], exc_type, message, True, head + "\n" if head else ""


def _block_signature(block: str, column: int, depth: int) -> tuple[str, int, tuple[str, str, bool]] | None:
    """For a run of a group box (see `block_member`): `chain_signature` of the member it holds ("" for
    none), how many members it says are left out, and its final exception's type, message and whether
    it was raised; None where the general path must decide."""
    member, left_out = block_member(block, column)
    if not member:
        return "", left_out, ("", "", False)
    found = _member_signature(member, depth)
    return (found[0], 0, found[1]) if found is not None else None


def _member_signature(text: str, depth: int) -> tuple[str, tuple[str, str, bool]] | None:
    """`chain_signature` of a group member's text, and its final exception's type, message and whether it
    was raised; None where the general path must decide."""
    lines: list[str] = []
    found = None
    chain = list(segments(text))
    for index, (segment, link) in enumerate(chain):
        found = _group_record(segment, depth, bool(lines))
        if found is None:
            return None
        if index < len(chain) - 1 and _is_cancellation(found[1]):
            continue
        lines.append(f"{found[4]}{link}|{found[0]}")
    if found is None:
        return None
    return "\n".join(lines), (found[1], found[2], found[3])


_block_signature_of: Final = functools.lru_cache(maxsize=512)(_block_signature)


def _scanned_signature(record: ScannedException, chained: bool = False) -> str:
    """`chain_signature`'s line for one exception (never a group: those are not scanned); `chained`:
    not the first of its chain."""
    frames = record.frames
    block = frames.block()
    if len(block) <= _CACHED_FRAMES and not record.type.endswith(("RecursionError", *_INTERRUPTS)):
        # The site depends on the frames alone then (the message only when it has no source line).
        known = _block_sites.get(block)
        if known is None:
            known = _site_of_frames(frames)
            _block_sites.put(block, known)
        site, mode, source = known
        if mode == "raise" and not chained and _PASSED_ON_RE.fullmatch(source):
            # A raise passing on its message: its caller may have written it (`_message_author`), which
            # the message tells, not the frames alone.
            site = _site_signature(
                record.type, record.message, frames.first(), frames.innermost, frames.all, chained=chained
            )
        else:
            site = _with_message(site, "" if chained and mode == "raise" else mode, source, record.message)
    else:
        site = _site_signature(
            record.type, record.message, frames.first(), frames.innermost, frames.all, chained=chained
        )
    return f"{record.link}|{_keyed_type(record.type, site)}|{site}"


def _site_of_frames(frames: LazyFrames) -> tuple[str, str, str]:
    """For an exception with these frames (not a RecursionError): `_site_parts` of it."""
    return _site_parts("", frames.first(), frames.innermost, frames.all)


# Frame blocks repeat from event to event (the same call path, other messages): their site once each.
_CACHED_FRAMES: Final = 4096
_block_sites: Final[BoundedMemo[str, tuple[str, str, str]]] = BoundedMemo(512)


def _with_final_exception(parsed: Traceback, doc: Mapping[str, Any]) -> Traceback:
    final = dataclasses.replace(
        parsed.final,
        type=_text(_field(doc, "error.type", "error", "type")),
        message=_message(doc),
    )
    return Traceback(chain=(*parsed.chain[:-1], final))


def fingerprint_traceback(parsed: Traceback) -> Fingerprint:
    """Fingerprint a parsed traceback: the exception chain and the statement each was raised from."""
    signature, (exc_type, message, _) = _chain(parsed)
    return _make("traceback", signature, title=_title(exc_type, message, signature))


def chain_signature(parsed: Traceback, *, member: bool = False) -> str:
    """The canonical text a traceback key hashes: one line per exception of the chain (a group of one
    failure: that failure's lines, see `_lone_failure`)."""
    return _chain(parsed, member)[0]


def _chain(parsed: Traceback, member: bool = False) -> tuple[str, tuple[str, str, bool]]:
    """`chain_signature`, and the final exception's type, message and whether it was raised (for a group
    of one failure, that failure's)."""
    lines: list[str] = []
    final = ("", "", False)
    last = len(parsed.chain) - 1
    for index, record in enumerate(parsed.chain):
        if index < last and _is_cancellation(record.type):
            continue
        # (members past the fifteenth, "and N more exceptions", are more of those shown: a task group of
        # one failure was one group below sixteen tasks and another from sixteen on)
        lone = _lone_member(record) if record.members and record.frames else None
        if lone is None:
            line = f"{record.link}|{_record_signature(record, member, bool(lines))}"
            final = (record.type, record.message, bool(record.frames))
        else:
            line = f"{lone[4]}{record.link}|{lone[0]}"
            final = lone[1:4]
        # A link keyed as the one before it is no line of its own: a retry that calls itself again while
        # handling its failure (`except Flaky: return fetch(url, retries - 1)`) chains one more link per
        # attempt, and a fleet whose hosts try twice or thrice was one group per number of attempts.
        if not lines or line != lines[-1]:
            lines.append(line)
    return "\n".join(lines), final


def _lone_member(record: ExceptionRecord) -> _GroupRecord | None:
    """`_lone_failure` of a group's members, when a task group raised it and they are one failure; else
    None."""
    raising = record.frames[-1].filename
    if not _wraps_tasks(raising, _kind(raising)):
        return None
    distinct = {id(member): member for member in record.members}.values()  # repeats are one object
    members: dict[str, set[tuple[str, str, bool]]] = {}
    for member in distinct:
        signature, final = _chain(member, True)
        members.setdefault(signature, set()).add(final)
    if len(members) != 1:
        return None
    ((signature, finals),) = members.items()
    return _lone_failure(signature, finals)


def _record_signature(record: ExceptionRecord, member: bool = False, chained: bool = False) -> str:
    frames = record.frames
    if member and not frames:
        # A member never raised (built by the statement that raised its group): its type, not its data.
        parts = [_short_type(record.type)]
    else:
        site = _site_signature(
            record.type,
            record.message,
            frames[-1] if frames else None,
            lambda: reversed(frames),
            lambda: frames,
            chained=chained,
        )
        parts = [_keyed_type(record.type, site), site]
    if record.is_group:
        distinct = {id(member): member for member in record.members}.values()  # repeats are one object
        members = sorted({chain_signature(member, member=True) for member in distinct})
        parts.append("{" + ";".join(member.replace("\n", "/") for member in members) + "}")
    return "|".join(parts)


def _site_signature(
    type_name: str,
    message: str,
    site: Frame | None,
    innermost: Callable[[], Iterator[Frame]],
    frames: Callable[[], tuple[Frame, ...]],
    *,
    chained: bool = False,
) -> str:
    """The raising statement of one exception. `site` is its innermost frame, `innermost()` yields its
    frames from the innermost out and `frames()` gives them all (outermost first): frames are parsed
    on demand, and most keys need the innermost one only. `chained`: not the first of its chain (a
    funnel's message is not needed then: the cause or context it handled is keyed)."""
    chosen, signature, mode, source = _chosen_site(type_name, site, innermost, frames)
    if mode == "raise" and not chained and chosen is not None and _PASSED_ON_RE.fullmatch(source):
        author = _message_author(chosen, innermost(), message)
        if author is not None and author.source is not None:
            signature, source = _frame_signature(author), " ".join(author.source.split())
    return _with_message(signature, "" if chained and mode == "raise" else mode, source, message)


def _site_parts(
    type_name: str,
    site: Frame | None,
    innermost: Callable[[], Iterator[Frame]],
    frames: Callable[[], tuple[Frame, ...]],
) -> tuple[str, str, str]:
    """The raising statement's signature without its message part, how the message joins it (see
    `_with_message`) and the statement's source line."""
    return _chosen_site(type_name, site, innermost, frames)[1:]


def _chosen_site(
    type_name: str,
    site: Frame | None,
    innermost: Callable[[], Iterator[Frame]],
    frames: Callable[[], tuple[Frame, ...]],
) -> tuple[Frame | None, str, str, str]:
    """`_site_parts`, after the frame of the raising statement where that is one frame with its source
    (None for the other keys: a cycle, a frameless message, a file that does not compile...)."""
    if site is None:
        return None, "msg:", "msg", ""
    if type_name.endswith("RecursionError") and _short_type(type_name) == "RecursionError":
        every = frames()
        cycle = _recursion_cycle(every)
        if cycle:
            return None, "cycle:" + ";".join(cycle) + _stdlib_cycle_entry(every, cycle), "", ""
    if type_name.endswith(_INTERRUPTS) and _short_type(type_name) in _INTERRUPTS:
        entry = _outermost_outside_stdlib(frames()) or site
        return None, f"{_tail(entry.filename)}:{entry.function}:", "", ""
    site, innermost = _compiled_text_site(site, innermost)
    if site.function in _INLINED:  # a comprehension's frame, as Python 3.12+ prints it (`_inlined`)
        site = _as_inlined(site, itertools.islice(innermost(), 1, None))
    site = _site_frame(site, innermost)
    if site.source is not None and _STACKLEVEL in site.source:
        site = _blamed_frame(site, innermost)
    if site.source is None and _generated_code(site.filename):
        caller = _generated_code_caller(innermost())
        if caller is not None:  # (the message still says what failed in it: a field's name, an input's)
            return None, _frame_signature(caller) + "|msg:", "msg", ""
    if not site.function and site.filename[:1] != "<":
        # Where a module's file does not compile (a path, no function): the file, not the statement the
        # parser points at (Python 3.8/3.9 and 3.10+ point at other lines of one error, and name it apart).
        return None, f"{_tail(site.filename)}::", "", ""
    signature = _frame_signature(site)
    if site.source is None:
        return None, signature + "|msg:", "msg", ""
    source = " ".join(site.source.split())
    return site, signature, "raise" if _builds_message(source) else "", source


def _blamed_frame(site: Frame, innermost: Callable[[], Iterator[Frame]]) -> Frame:
    """For a site that warns with a stack level (`warnings.warn(msg, DeprecationWarning, stacklevel=2)`,
    raised as an error under `-W error` or `simplefilter("error")`), the frame it blames: that many
    frames out, counted as the interpreter counts them (a `<listcomp>` frame of Python <= 3.11 too,
    then read as 3.12+ prints it), as a logged warning's location line names it; the helper that warns
    is not the statement to fix, its callers are (each one group). Else, or where the traceback starts
    below that frame, the site."""
    level = _STACKLEVEL_RE.search(site.source or "")
    if level is None:
        return site
    frames = innermost()
    if not any(frame == site for frame in frames):  # (a frame read again is another object)
        return site
    out = int(level[1]) - 1
    passed = list(itertools.islice(frames, out))
    return _as_inlined(passed[-1], frames) if len(passed) == out else site


# A call that warns and names the frame to blame (`warnings.warn(..., stacklevel=2)`, `warn(...)`): how
# many frames out, as `warnings` counts them. (Searched only in a statement holding `_STACKLEVEL`.)
_STACKLEVEL: Final = "stacklevel"
_STACKLEVEL_RE: Final = compile_cached(r"\bwarn\(.*\bstacklevel\s*=\s*([2-9])\b")


# A raise that passes on a message it was given (`raise ServiceError(msg)`, `raise cls(message) from
# exc`): a helper's, whose callers write the text (`_fail(f"user {name} not found")`).
_PASSED_ON_RE: Final = compile_cached(r"raise [\w.]+\(\s*[^\W\d]\w*\s*\)(?: from \w+)?")


def _message_author(site: Frame, innermost: Iterator[Frame], message: str) -> Frame | None:
    """The frame that called `site` (a raise passing its message on) when that caller's statement holds
    two words or more of the message's: it wrote the text, so its statement is the failing one (two
    callers of one helper are two bugs, each caller's values one). None otherwise (a text built in the
    helper's function: its callers stay one group), and for a comprehension's frame (`_inlined`)."""
    if site.function in _INLINED:
        return None
    found = False
    for frame in innermost:
        if found:
            if frame.source is None or frame.function in _INLINED:
                return None
            return frame if _writes_message(" ".join(frame.source.split()), message) else None
        found = frame == site  # (a frame read again is another object)
    return None


def _writes_message(statement: str, message: str) -> bool:
    """Whether `statement` wrote the message: it holds two words or more of the message's masked first
    line, or one in a text it composes (`fail(f"Error: {failure}")`: a funnel of its own), or it is a
    call whose arguments go on below its line (`fail(` with the text on the next line: `_continues`)."""
    words = {
        word for word in (raw.strip(_EDGE) for raw in _masked_first_line(message).split()) if word.isalpha()
    }
    shared = len(words.intersection(_SOURCE_WORD_RE.findall(statement)))
    return (
        shared >= _AUTHOR_WORDS
        or (shared > 0 and _COMPOSES_TEXT_RE.search(statement) is not None)
        or _continues(statement)
    )


_AUTHOR_WORDS: Final = 2
# A text composed where the statement runs: an f-string with a field, a `%` or `.format` template.
_COMPOSES_TEXT_RE: Final = compile_cached(
    r"""(?<![\w])(?:[fF][rR]?|[rR][fF])["'][^"'\n]*\{|["']\s*%\s*[\w(]|\.format\("""
)


def _compiled_text_site(
    site: Frame, innermost: Callable[[], Iterator[Frame]]
) -> tuple[Frame, Callable[[], Iterator[Frame]]]:
    """The site and frames (innermost first) that identify the raising statement when the innermost
    "frame" is where text compiled at run time failed to parse (a SyntaxError's location in a pseudo-file,
    `<unknown>` for `ast.literal_eval`, `<string>` for `eval`: no function, the input as its line): the
    frames from the one that compiled it out (its line is the input's, which varies). So too for a file
    name without a directory below a calling frame (`compile(text, "rules.py", "exec")`: an import's
    location is the module's path, and a script's has no caller). Else as given."""
    if site.function or not _compiled_text_name(site.filename):
        return site, innermost
    caller = next(itertools.islice(innermost(), 1, None), None)
    if caller is None:
        return site, innermost
    return caller, lambda: itertools.islice(innermost(), 1, None)


def _compiled_text_name(filename: str) -> bool:
    """Whether a SyntaxError located in `filename` below a calling frame is in text compiled at run
    time: a pseudo-file, or a name without a directory (a module's path has one since Python 3.9)."""
    return filename[:1] == "<" or ("/" not in filename and "\\" not in filename)


# Where a KeyboardInterrupt is raised is where the signal found the program (the line that ran then, or
# the one that called into the standard library), and a CancelledError where its task was suspended (a
# timeout's cause: in connect or in read, as the time ran out): it varies from one interrupt to the next,
# so it is keyed by the function of the program's outermost frame (its entry point: a script's module, a
# thread's target, a task's coroutine), not by a statement (that frame's line is the call in progress).
_INTERRUPTS: Final = ("KeyboardInterrupt", "CancelledError")


def _outermost_outside_stdlib(frames: tuple[Frame, ...]) -> Frame | None:
    """The outermost frame outside the standard library (`runpy`'s and `threading`'s frames are not the
    program's entry point)."""
    return next((frame for frame in frames if _kind(frame.filename) is not FrameKind.STDLIB), None)


# The location of a SyntaxError: a "File" line without a function (`_compiled_text_site`).
_COMPILED_TEXT_RE: Final = compile_cached(r'[ \t]+File "[^\n]*", line \d+[ \t]*\n')


_CYCLE_ENTRY: Final = ";entry="  # after a cycle's signatures: the statement that entered it (the culprit)


def _stdlib_cycle_entry(frames: tuple[Frame, ...], cycle: list[str]) -> str:
    """For a recursion whose repeating frames are all the standard library's (`copy.deepcopy` of a
    structure that holds itself, `json.dumps` of one too deep), the innermost frame outside it: the
    program's statement that entered it (two statements that deep-copy are two bugs, and were one
    group); "" for any other cycle."""
    stdlib = {_frame_signature(frame) for frame in frames if _kind(frame.filename) is FrameKind.STDLIB}
    if not stdlib.issuperset(cycle):
        return ""
    entry = _innermost_outside_stdlib(reversed(frames))
    return "" if entry is None else _CYCLE_ENTRY + _frame_signature(entry)


def _recursion_cycle(frames: tuple[Frame, ...]) -> list[str]:
    """The frames a RecursionError repeats, as sorted signatures (`_cycle_of`), as Python 3.12+ prints
    them (`_inlined`)."""
    return _cycle_of([(_frame_signature(frame), 1 + frame.repeated) for frame in _outermost_inlined(frames)])


# The frames Python 3.12+ does not print (PEP 709 inlines list, dict and set comprehensions into the code
# they are in); a generator expression's and a lambda's it does.
_INLINED: Final = frozenset({"<listcomp>", "<dictcomp>", "<setcomp>"})


def _inlined(innermost: Iterable[Frame]) -> Iterator[Frame]:
    """Frames (innermost first) as Python 3.12+ prints them, so that a key does not depend on the
    version that printed the traceback: the frame of a comprehension (Python <= 3.11: `<listcomp>` under
    the frame of the code it is in) as that code's frame, the next outer one of the same file that is no
    comprehension (a function, `<module>`, a class body, `<genexpr>`), named for it, with the
    comprehension's own line; that frame, and the outer comprehensions a nested one is in, are left out.
    (Where a recursion marker repeats that frame, the calls it stands for but the one are kept.)"""
    held: list[Frame] = []  # a comprehension's frame, then those of the comprehensions it is nested in
    # A frame that repeats as one object (the fast path's) is renamed once, as one object again: its
    # renamed frame is held with it (so no other object takes its id meanwhile).
    renamed: dict[tuple[int, str], tuple[Frame, Frame]] = {}
    for frame in innermost:
        if held and frame.filename == held[0].filename:
            if frame.function in _INLINED:
                held.append(frame)
                continue
            key = (id(held[0]), frame.function)
            found = renamed.get(key)
            if found is None:
                found = renamed[key] = (held[0], dataclasses.replace(held[0], function=frame.function))
            yield found[1]
            held = []
            if frame.repeated:
                yield dataclasses.replace(frame, repeated=frame.repeated - 1)
            continue
        if held:  # no frame of the code it is in: as printed
            yield from held
            held = []
        if frame.function in _INLINED:
            held = [frame]
        else:
            yield frame
    yield from held


def _as_inlined(frame: Frame, outer: Iterator[Frame]) -> Frame:
    """`frame` as `_inlined` gives it, from the frames outside it (`outer`, innermost first; read only
    for a comprehension's frame)."""
    if frame.function in _INLINED:
        for code in outer:
            if code.filename != frame.filename:
                break
            if code.function not in _INLINED:
                return dataclasses.replace(frame, function=code.function)
    return frame


def _outermost_inlined(frames: tuple[Frame, ...]) -> list[Frame]:
    """`frames` (outermost first) as Python 3.12+ prints them (`_inlined`), outermost first."""
    inlined = list(_inlined(reversed(frames)))
    inlined.reverse()
    return inlined


def _cycle_of(ordered: Sequence[tuple[str, int]]) -> list[str]:
    """The cycle of a recursion, from its frames' signatures outermost first, each with how many
    frames it stands for (a recursion marker's count added): where the limit strikes depends on the
    stack depth at the start, and a generator expression's frame (`<genexpr>`; a comprehension's too on
    Python <= 3.11, unless read as 3.12+ prints it: `_inlined`) alternates with the recursive function's,
    so no single frame is "the" site. The recursion that reached the limit is the innermost one: it
    starts at the outermost call of the innermost frame that repeats, and callers above it that repeat
    too (a middleware chain calling the same method once per layer, an outer recursion of the
    program's) are no part of it, however deep they were.
    Its cycle is the set of its frames that repeat: more than once, and at least a quarter as often as
    the one that repeats most (a frame a few levels of it call apart from the others is not)."""
    totals: dict[str, int] = {}
    for signature, weight in ordered:
        totals[signature] = totals.get(signature, 0) + weight
    anchor = next((signature for signature, _ in reversed(ordered) if totals[signature] > 1), None)
    if anchor is None:
        return []
    start = next(index for index, (signature, _) in enumerate(ordered) if signature == anchor)
    counts: dict[str, int] = {}
    for signature, weight in ordered[start:]:
        counts[signature] = counts.get(signature, 0) + weight
    most = max(counts.values())
    return sorted(signature for signature, count in counts.items() if count > 1 and count * 4 >= most)


def _site_frame(site: Frame, innermost: Callable[[], Iterator[Frame]]) -> Frame:
    """The frame that identifies the raising statement (see `_site_signature`): for a statement in the
    standard library the innermost frame outside it; for one in code that is not the program's (an
    installed library, a frame shown without source) the program's statement that called into it,
    when the program's frames are known (see "Library frames" in the module docstring); the frames read
    as Python 3.12+ prints them (`_inlined`)."""
    kind = _kind(site.filename)
    if kind is FrameKind.STDLIB:
        # Which standard-library line raised varies with the input and the Python version; the
        # program's statement that called into it is the failing statement.
        site = _innermost_outside_stdlib(innermost()) or site
        kind = _kind(site.filename)
    if kind is FrameKind.THIRD_PARTY or (site.source is None and not site.filename.startswith(_IN_APP_MARK)):
        return _library_caller(_inlined(innermost())) or site
    return site


def _library_caller(innermost: Iterator[Frame]) -> Frame | None:
    """The program's statement nearest to a raise in code that is not the program's: the innermost
    frame of the program's packages (`with_program_frames` and `with_package_frames` mark them), or of
    other code outside installed packages shown with its source (`_unmarked_program_code`) when such a
    frame comes first: another top-level package of the same project, `billing` under a view of `shop`
    logged by `shop.views`, keyed as its own logger or a framework's keys it. None without a marked
    frame (nothing says which code is the program's: the raising statement stays the key)."""
    unmarked = None
    for frame in innermost:
        if frame.filename.startswith(_IN_APP_MARK):
            return unmarked or frame
        if unmarked is None and _unmarked_program_code(frame.filename, frame.source is not None):
            unmarked = frame
    return None


def _unmarked_program_code(filename: str, has_source: bool) -> bool:
    """Whether a frame not marked as the program's is code outside installed packages and the standard
    library, shown with its source: generated code (`<attrs generated init>`) and frames printed without
    source (templates, Cython) do not count."""
    return has_source and not filename.startswith("<") and _kind(filename) is FrameKind.APPLICATION


def _builds_message(source: str) -> bool:
    """Whether a site's source line is a raise statement whose message is built when it runs (a
    name, an f-string, a format call): a funnel when that text comes from elsewhere (another
    exception), see `_with_message`."""
    return source.startswith("raise ") and _LITERAL_RAISE_RE.match(source) is None


# `raise Name` alone re-raises an object; `raise Name("literal")` carries a fixed message.
_LITERAL_RAISE_RE: Final = compile_cached(
    r"""raise [\w.]+(?:\(\s*\)|\(\s*(?:"[^"{}%]*"|'[^'{}%]*')\s*\)|\s*$)"""
)
# A message that brings at least three words of prose of its own (whole words, not in the statement's
# text) embeds another text, such as an exception's; a value (a name, a file, an id) brings fewer.
_FUNNEL_WORDS: Final = 3
_SOURCE_WORD_RE: Final = compile_cached(r"[^\W\d_]+")
_EDGE: Final = ".,:;!?()[]{}'\""


def _with_message(signature: str, mode: str, source: str, message: str) -> str:
    """The site signature with its message part: the masked first line where the statement has no
    source line ("msg"; or the traceback the message quotes, see `_message_part`); for a raise statement
    that builds its message ("raise"), the masked first line too when at least three of its words are
    not in the statement (the message carries another exception's or a plug-in's text: a funnel raising
    many bugs from one line), else nothing. Not for a raise of a name alone (`raise LookupError(msg)`,
    the text built above it, as flake8-errmsg has code write it: its bare-word values split it) nor a
    statement that goes on below its line (`_continues`): neither shows where its text came from, and
    a helper's caller that does is keyed instead (`_writes_message`). A message that quotes a traceback
    after its first line, of an exception raised from a statement (see `_quoted_report`), adds that
    traceback's signature."""
    if _QUOTES in message and (mode != "msg" or tracebacks.IPYTHON_REPORT in message):
        signature += _quoted_report(message)
    if mode == "msg":
        return signature + _message_part(message)
    if mode == "raise":
        masked = _masked_first_line(message)
        novel = {word for word in (raw.strip(_EDGE) for raw in masked.split()) if word.isalpha()}
        if (
            len(novel) >= _FUNNEL_WORDS
            and len(novel - set(_SOURCE_WORD_RE.findall(source))) >= _FUNNEL_WORDS
            and not _PASSED_ON_RE.fullmatch(source)
            and not _continues(source)
        ):
            return signature + "|says:" + masked
    return signature


def _continues(statement: str) -> bool:
    """Whether a statement's line leaves a bracket open or ends in a backslash: its text goes on below.

    A traceback shows a statement's first line only (Python 3.11; 3.13 shows the rest, but keys read the
    first line alike), so a raise or call a formatter wrapped (`raise LookupError(` with the message's
    text on the next line) shows none of its message's words: every word of the text seemed brought
    from elsewhere, and each bare-word value (`user alice not found`) was a group of its own. Such a
    statement is taken to write its message, as it does when its text fits on the line."""
    if statement.endswith("\\"):
        return True
    if not _OPENERS.intersection(statement):
        return False
    code = _STRING_LITERAL_RE.sub("", statement)  # (a bracket inside a literal opens nothing)
    return sum(map(code.count, "([{")) > sum(map(code.count, ")]}"))


_OPENERS: Final = frozenset("([{")
# A string literal on one line, with its prefix; an unterminated one is left, its opening bracket with it.
_STRING_LITERAL_RE: Final = compile_cached(r"""[rRbBuUfF]{0,2}(?:"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')""")


def _quoted_report(message: str) -> str:
    """`|cell:` and the `chain_signature` of the traceback (or IPython report) a message quotes after
    its first line, as a notebook runner (nbclient: `jupyter nbconvert --execute`, papermill, nbmake)
    raises a cell's failure, CellExecutionError, from its own code with the kernel's report in its
    message: keyed by its own raise, every failing notebook would be one group. "" for another message."""
    plain = message.find("\n" + _HEADER_LINE) + 1
    report = message.find(tracebacks.IPYTHON_REPORT)
    at = plain if plain > 0 and (report < 0 or plain < report) else report
    start = message.rfind("\n", 0, at) + 1
    if start <= 0 or message.count(_HEADER_LINE, start) > _QUOTED_HEADERS:
        return ""
    above = message.rfind("\n", 0, start - 1) + 1  # its line of dashes, if any
    dashes = tracebacks.without_colours(message[above : start - 1]).strip()
    quoted = message[above if dashes and not dashes.strip("-") else start :]
    return "|" + _CELL_SITE + chain_signature(parse_traceback(quoted)).replace("\n", "/")


# Pseudo-files of code the program itself typed or read, not generated: an interactive session's, a
# program read from standard input, a doctest's (`_generated_code`).
_INTERACTIVE_FILES: Final = (
    "<stdin>",
    "<console>",
    "<input>",
    "<python-input-",
    tracebacks.IPYTHON_INPUT,
    "<pyshell#",
    "<doctest ",
)


def _generated_code(filename: str) -> bool:
    """Whether a frame's file is a pseudo-file of code generated at run time (`<string>` of `exec` and
    `eval`, a dataclass's or namedtuple's methods; `<attrs generated init ...>`, `<decorator-gen-3>`,
    numpy's `<__array_function__ internals>`): shown without source, it is not the program's statement."""
    return filename[:1] == "<" and not filename.startswith(_INTERACTIVE_FILES)


def _generated_code_caller(innermost: Iterator[Frame]) -> Frame | None:
    """The innermost frame outside the standard library and code generated at run time shown without
    source (`_generated_code`), as Python 3.12+ prints it (`_as_inlined`); None without one."""
    for frame in innermost:
        if _kind(frame.filename) is FrameKind.STDLIB or (
            frame.source is None and _generated_code(frame.filename)
        ):
            continue
        return _as_inlined(frame, innermost)
    return None


def _innermost_outside_stdlib(innermost: Iterator[Frame]) -> Frame | None:
    """The innermost frame outside the standard library, as Python 3.12+ prints it (`_as_inlined`: a frame
    `_inlined` leaves out is of the same file as the comprehension's before it, so never the first)."""
    for frame in innermost:
        if _kind(frame.filename) is not FrameKind.STDLIB:
            return _as_inlined(frame, innermost)
    return None


def _frame_signature(frame: Frame) -> str:
    return f"{_tail(frame.filename)}:{frame.function}:{' '.join((frame.source or '').split())}"


def module_tail(filename: str) -> str:
    """The install-independent part of a path: the file's stem (with its package for __init__); for a
    file of a subpackage of the program's (marked `in-app/`), its path from the package
    (`shop/payments/views`); for a pseudo-file numbered by an interactive session (`<python-input-3>`,
    `<ipython-input-3-5e1c...>`), its name with the number written "N" (the same statement has another
    number in each session); for a notebook's cell as a kernel compiles it
    (`/tmp/ipykernel_812/3016483423.py`: named by a hash of the cell's text, another after any edit),
    `<cell>`; for a cell IPython compiled (`<ipython-input-3-5e1c...>`: its count and a hash of its
    text), `<ipython-input>`, as IPython's own report names it."""
    if filename.startswith("<") and filename.endswith(">"):
        if filename.startswith(tracebacks.IPYTHON_INPUT):
            return tracebacks.IPYTHON_CELL
        numbered = _PSEUDO_FILE_NUMBER_RE.sub("N", filename)
        if numbered != filename:
            return numbered
    if filename.startswith(_IN_APP_MARK) and filename.count("/") > 2:
        # A file of a subpackage of the program (`with_package_frames`, `with_program_frames`): its
        # module's path from the package, which the marking took apart from any install directory; its
        # stem alone would make one module of `payments/views.py` and `shipping/views.py`. (A module in
        # the package's own directory keeps its stem, unique there: so a flat program keeps its keys
        # where a directory of the install named like its package, `/app/` for a logger `app`, is
        # taken for the package.)
        path = filename[len(_IN_APP_MARK) :]
        return path.rsplit(".", 1)[0] if path.endswith((".py", ".pyc", ".pyw")) else path
    parts = filename.replace("\\", "/").rstrip("/").rsplit("/", 2)
    name = parts[-1]
    stem = name.rsplit(".", 1)[0] if name.endswith((".py", ".pyc", ".pyw")) else name
    if stem in ("__init__", "__main__") and len(parts) > 1 and parts[-2]:
        return f"{parts[-2]}/{stem}"
    if stem.isdigit() and len(parts) > 1 and parts[-2].startswith(_KERNEL_CELL_DIRECTORIES):
        return _NOTEBOOK_CELL
    return stem or filename


# The directories ipykernel (Jupyter, papermill, VS Code) and xeus-python write cells' code to, one per
# kernel (`<temp>/ipykernel_<pid>/`), each cell in a file named by a hash of its text.
_KERNEL_CELL_DIRECTORIES: Final = ("ipykernel_", "xpython_")
_NOTEBOOK_CELL: Final = "<cell>"


# A number as a part of its own in a pseudo-file's name: the count of an input, an example.
_PSEUDO_FILE_NUMBER_RE: Final = compile_cached(r"(?<=[-_ \[])\d+(?=[-_ >\]])")


def _short_type(type_name: str) -> str:
    return _RENAMED_TYPES.get(type_name) or type_name.rsplit(".", 1)[-1]


def _keyed_type(type_name: str, site: str) -> str:
    """The exception's type as its key holds it: `_short_type`, and for a module's file that does not
    compile, `_syntax_type`."""
    short_type = _short_type(type_name)
    return _syntax_type(short_type, site) if short_type in _SYNTAX_FAMILY else short_type


def _syntax_type(short_type: str, site: str) -> str:
    """A SyntaxError's class (`short_type`, one of `_SYNTAX_FAMILY`) as keyed at `site`: "SyntaxError" where
    a module's file does not compile (its site is the file, `name::`): the parser names one broken file
    IndentationError on one version and SyntaxError on another (`def f():` at the end of a file: 3.8's
    "unexpected EOF", 3.9+'s "expected an indented block"), and another bad statement of the file,
    the same group, may be a TabError; elsewhere (`compile` of a text) as raised."""
    return "SyntaxError" if site.endswith("::") else short_type


_SYNTAX_FAMILY: Final = frozenset({"SyntaxError", "IndentationError", "TabError"})


# Classes the standard library renamed (the old name is an alias of the new one): a traceback prints the
# name of the version that ran, so one bug on hosts of two versions was two keys.
_RENAMED_TYPES: Final = {
    "socket.timeout": "TimeoutError",  # 3.10
    "re.error": "PatternError",  # 3.13
    "sre_constants.error": "PatternError",
}


def _is_cancellation(type_name: str) -> bool:
    """Whether an exception of a chain, not its last, is asyncio's cancellation: how a timeout (or a
    cancelled task) works, chained before its exception in a way each version prints otherwise (none in
    3.8, two in 3.9 and 3.10, one since 3.11), and where the task was waiting varies; it is no link of
    the key."""
    return type_name.endswith("CancelledError") and _short_type(type_name) == "CancelledError"


def _first_line(text: str) -> str:
    text = text.strip()
    end = text.find("\n")
    return text if end < 0 else text[:end]


def _masked_first_line(message: str) -> str:
    """The message's first line (at most _MESSAGE_LIMIT characters) with variable tokens masked; without
    the count an exception group's text ends with, "(N sub-exceptions)" ("sub-exception" for one: the
    same group of one or more members is one bug)."""
    line = titles.first_line(message)
    if _GROUP_COUNT in line:
        line = _GROUP_COUNT_RE.sub("", line)
    if len(line) > _MESSAGE_LIMIT:
        # Cut at a blank: cut inside a word (a list's item, `'sku-4` or `'sk`), the key would vary with
        # where the limit fell in the values the message lists.
        line = line[:_MESSAGE_LIMIT]
        blank = line.rfind(" ", _MESSAGE_LIMIT // 2)
        line = line[:blank] if blank > 0 else line
    return _mask_line(line)


_GROUP_COUNT: Final = " sub-exception"
_GROUP_COUNT_RE: Final = compile_cached(r" \(\d+ sub-exceptions?\)$")


def _message_part(message: str) -> str:
    """What the message of an exception whose statement is not known (no frame, or no source line) adds
    to its key: its masked first line; but for a message that quotes a traceback (a line "Traceback
    (most recent call last):"), that traceback's `chain_signature`. So a failure in a worker process,
    which concurrent.futures and multiprocessing re-raise with a RemoteTraceback cause quoting the
    worker's traceback (its first line is three quotes), is keyed by the worker's raising statement."""
    at = message.find(_HEADER_LINE)
    # (A message that is a traceback is read as text, not again; quotes nested deeper than a pool
    # would nest them are too: each level holds one header more.)
    if at <= 0 or message[at - 1] != "\n" or message.count(_HEADER_LINE, at) > _QUOTED_HEADERS:
        return _masked_first_line(message)
    quoted = message[at:].rstrip().removesuffix('"""')
    return "quoted:" + chain_signature(parse_traceback(quoted)).replace("\n", "/")


_HEADER_LINE: Final = renderers.HEADER
# The site of a frameless exception quoting a traceback (`_message_part`), and a line break of the quoted
# chain's signature (written "/").
_QUOTED_SITE: Final = "|msg:quoted:"
_CELL_SITE: Final = "cell:"  # (`_quoted_report`)
_QUOTED_LINE_RE: Final = compile_cached(r"/(?=(?:cause|context)?\|)")
_QUOTED_HEADERS: Final = 16
_QUOTES: Final = "Traceback (most recent call last)"  # in a message: a traceback's or IPython's header


def _title(type_name: str, message: str, signature: str = "") -> str:
    """The group's title (see `shipper.grouping.titles`), with the culprit the key's site names."""
    return titles.title(type_name, message, _culprit(signature), _mask_line)


def _culprit(signature: str) -> str:
    """`module.function` of the final exception's site in a key's signature; "" without one. The final
    exception a parent re-raised of a worker's failure (its cause a frameless exception quoting the
    worker's traceback, as concurrent.futures and multiprocessing chain it) has the worker's site: the
    parent's call that waited on the result is not what failed."""
    if not signature:
        return ""
    last = signature.rfind("\n")
    fields = signature[last + 1 :].split("|", 3)
    # (in the line before the last: the final exception's cause)
    quoted = signature.find(_QUOTED_SITE, signature.rfind("\n", 0, last) + 1, last) if last > 0 else -1
    if quoted >= 0 and len(fields) > 2:
        inner = _QUOTED_LINE_RE.split(signature[quoted + len(_QUOTED_SITE) : last])[-1].split("|", 3)
        if len(inner) > 2 and inner[1] == fields[1]:  # the worker's exception, re-raised
            fields = inner
    elif len(fields) > 3 and fields[3].startswith(_CELL_SITE):  # a notebook runner's: the cell's failure
        inner = _QUOTED_LINE_RE.split(fields[3][len(_CELL_SITE) :])[-1].split("|", 3)
        fields = inner if len(inner) > 2 else fields
    site = fields[2] if len(fields) > 2 else ""
    site = site.removeprefix("cycle:")
    site = site[site.find(_CYCLE_ENTRY) + len(_CYCLE_ENTRY) :] if _CYCLE_ENTRY in site else site
    if not site or site.startswith("msg:"):
        return ""
    parts = site.split(":", 2)
    return titles.culprit_of(parts[0], parts[1]) if len(parts) > 1 else ""


# Memos of pure functions of one string, for the values that repeat from event to event: masked message
# lines (the same error, other ids), and what a file path tells. Bounded in entries and in the length of
# a key (so in memory); lru_cache is safe to call from several threads (the shipper's worker).
_CACHED_LENGTH: Final = _MESSAGE_LIMIT
# The masking rules treat every ASCII digit alike but a "0" before "x" or "X" (it starts a hex address;
# no rule removes that "x" and leaves the "0", and the placeholders hold no digit): a line and its shape
# (every other digit written "1") mask to the same text but for those digits. So a masked shape stands
# for each line of that shape (the same error with other numbers), unless a "1" is left in it (a digit
# no rule masked): then the line itself is masked. A whole hex address (the hex_address rule's match:
# "0x" and hex digits, a word on its own) has its letters written "1" too: the rules before that one
# cannot start inside it, and those that take it into a longer match (a URL, an e-mail address) take
# hex letters and digits alike; then it becomes <HEX>. So "<Foo object at 0x7f3a...>" is one shape.
_SHAPE_RE: Final = compile_cached(r"[2-9]|0(?![xX])")
_HEX_ADDRESS_RE: Final = next(rule.pattern for rule in RULES if rule.name == "hex_address")
_SHAPE_TABLE: Final = bytes.maketrans(b"023456789", b"111111111")


def _shape(line: str) -> str:
    """The line with every digit but a "0" before "x" or "X", and every letter of a hex address, written
    "1". Without "0x" or "0X", every digit but "1" becomes "1": for an ASCII line that is one byte
    translation, several times faster than a substitution per digit."""
    if line.isascii() and "0x" not in line and "0X" not in line:
        return line.encode("ascii").translate(_SHAPE_TABLE).decode("ascii")
    return _SHAPE_RE.sub("1", _HEX_ADDRESS_RE.sub(_hex_shape, line))


def _hex_shape(address: re.Match[str]) -> str:
    return address[0][:2] + "1" * (len(address[0]) - 2)


def _mask_by_shape(line: str) -> str:
    """`mask(line)`, by way of the line's shape."""
    masked = _mask_shape(_shape(line))
    return masked if "1" not in masked else mask(line)


_mask_shape: Final = functools.lru_cache(maxsize=1024)(mask)
_mask_line: Final = functools.lru_cache(maxsize=2048)(_mask_by_shape)  # at most _MESSAGE_LIMIT chars
_kind_of: Final = functools.lru_cache(maxsize=1024)(classify_frame)
_tail_of: Final = functools.lru_cache(maxsize=1024)(module_tail)


# The same statement failing with the same error line, again and again.
_traceback_fingerprint_of: Final = functools.lru_cache(maxsize=2048)(_traceback_fingerprint)


def _kind(filename: str) -> FrameKind:
    return _kind_of(filename) if len(filename) <= _CACHED_LENGTH else classify_frame(filename)


def _tail(filename: str) -> str:
    return _tail_of(filename) if len(filename) <= _CACHED_LENGTH else module_tail(filename)


def clear_caches() -> None:
    """Forget every memo of the fingerprint path (results never depend on them; benchmarks measure cold)."""
    for memo in (
        _mask_line,
        _traceback_fingerprint_of,
        _mask_shape,
        _kind_of,
        _tail_of,
        _fingerprint_of,
        _block_sites,
        _frame_site_of,
        _sites_by_frame,
        _path_of,
        _block_signature_of,
        _program_path,
        _package_tail_of,
        _logger_package,
        _package_files,
    ):
        memo.cache_clear()
    tracebacks.clear_caches()


def _make(*parts: str, title: str) -> Fingerprint:
    canonical = "\x1f".join((_VERSION_TEXT, *parts))
    if len(canonical) + len(title) <= _CACHED_LENGTH:
        return _fingerprint_of(canonical, title)
    return _new_fingerprint(canonical, title)


def _new_fingerprint(canonical: str, title: str) -> Fingerprint:
    return Fingerprint(key=hex_digest(canonical, 16), name=title, version=GROUPING_VERSION)


_VERSION_TEXT: Final = str(GROUPING_VERSION)
_fingerprint_of: Final = functools.lru_cache(maxsize=2048)(_new_fingerprint)  # Fingerprint is immutable


def _text(value: Any) -> str:
    if type(value) is str:  # nearly always: one cheap test first
        return value
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return "\n".join(str(item) for item in value)
    return str(value)


def _field(doc: Mapping[str, Any], dotted: str, head: str, tail: str) -> Any:
    """`shipper.schema.get_field(doc, dotted)` for a name of two parts (`head.tail`), without its
    general search: the fingerprint's hot path reads a handful of such fields per event."""
    if dotted in doc:
        return doc[dotted]
    child = doc.get(head)
    # (the ABC check costs several times the exact type test: the usual dict first)
    if (type(child) is dict or isinstance(child, Mapping)) and tail in child:
        return child[tail]
    return None
