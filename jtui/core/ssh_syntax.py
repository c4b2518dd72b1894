"""OpenSSH's ssh_config syntax: keywords, how a line splits into words, Host patterns.

Plain functions that do what OpenSSH's readconf.c and match.c do, so that
the names jtui lists are the names `ssh` would match.
"""

from __future__ import annotations

import re
from functools import cache

# Keywords OpenSSH's client accepts (9.2, read off `ssh -G`, plus those newer
# releases added). A keyword outside this set makes OpenSSH refuse the file.
SSH_KEYWORDS = frozenset("""
addkeystoagent addressfamily afstokenpassing batchmode bindaddress bindinterface
canonicaldomains canonicalizefallbacklocal canonicalizehostname
canonicalizemaxdots canonicalizepermittedcnames casignaturealgorithms
certificatefile challengeresponseauthentication channeltimeout checkhostip
cipher ciphers clearallforwardings compression compressionlevel
connectionattempts connecttimeout controlmaster controlpath controlpersist
dsaauthentication dynamicforward enableescapecommandline enablesshkeysign
escapechar exitonforwardfailure fallbacktorsh fingerprinthash
forkafterauthentication forwardagent forwardx11 forwardx11timeout
forwardx11trusted gatewayports globalknownhostsfile globalknownhostsfile2
gssapiauthentication gssapiclientidentity gssapidelegatecredentials
gssapikexalgorithms gssapikeyexchange gssapirenewalforcesrekey
gssapiserveridentity gssapitrustdns hashknownhosts host
hostbasedacceptedalgorithms hostbasedauthentication hostbasedkeytypes
hostkeyalgorithms hostkeyalias hostname identitiesonly identityagent
identityfile identityfile2 ignoreunknown include ipqos
kbdinteractiveauthentication kbdinteractivedevices keepalive kexalgorithms
kerberosauthentication kerberostgtpassing knownhostscommand localcommand
localforward loglevel logverbose macs match nohostauthenticationforlocalhost
numberofpasswordprompts obscurekeystroketiming passwordauthentication
permitlocalcommand permitremoteopen pkcs11provider port
preferredauthentications protocol protocolkeepalives proxycommand proxyjump
proxyusefdpass pubkeyacceptedalgorithms pubkeyacceptedkeytypes
pubkeyauthentication refuseconnection rekeylimit remotecommand remoteforward
requesttty requiredrsasize revokedhostkeys rhostsauthentication
rhostsrsaauthentication rsaauthentication securitykeyprovider sendenv serveralivecountmax
serveraliveinterval sessiontype setenv setuptimeout skeyauthentication
smartcarddevice stdinnull streamlocalbindmask streamlocalbindunlink
stricthostkeychecking syslogfacility tag tcpkeepalive tisauthentication tunnel
tunneldevice updatehostkeys useblacklistedkeys useprivilegedport user
userknownhostsfile userknownhostsfile2 useroaming usersh verifyhostkeydns
visualhostkey warnweakcrypto xauthlocation
""".split())

# Match criteria OpenSSH 9.x knows; those in _MATCH_WITH_ARG take a pattern.
MATCH_WITH_ARG = frozenset("host originalhost user localuser exec localnetwork tagged".split())
MATCH_CRITERIA = MATCH_WITH_ARG | {"all", "canonical", "final"}

# Characters ssh(1) refuses in a host name given on its command line
# (valid_hostname() in ssh.c, OpenSSH 9.6 and Debian's 9.2 security update),
# plus "@", which ssh reads as user@host.
_REFUSED_CHARS = frozenset("'`\"$\\;&<>|(){},@")

_WHITESPACE = " \t\r\n"


def is_pattern(alias: str) -> bool:
    """A Host word with a wildcard or negation names no single host."""
    return "*" in alias or "?" in alias or "!" in alias


def refused_by_ssh(alias: str) -> str | None:
    """Why `ssh ALIAS` could never use this Host name, or None when it can.

    Such a name is a valid Host *pattern*, but ssh rejects it as a
    destination before reading any config, so listing it would offer a host
    nobody can reach the way OpenSSH does.
    """
    if alias.startswith("-"):
        return "starts with '-' (ssh would read it as an option)"
    if alias.isprintable() and " " not in alias and _REFUSED_CHARS.isdisjoint(alias):
        return None  # the usual name, told in one pass (isprintable() is False for all white space but " ")
    for ch in alias:
        if ch.isspace():
            return "contains white space"
        if not ch.isprintable():
            return "contains a control character"
        if ch in _REFUSED_CHARS:
            return f"contains {ch!r}"
    return None


def _strdelim(s: str) -> tuple[str | None, str]:
    """OpenSSH's strdelim(): the next word of `s` and what follows it.

    A word ends at white space, a double quote or one '='; a quoted word runs
    to the next quote (None when there is none).
    """
    end = next((i for i, ch in enumerate(s) if ch in _WHITESPACE + '"='), None)
    if end is None:
        return s, ""
    if s[end] == '"':
        close = s.find('"', end + 1)
        if close < 0:
            return None, ""
        return s[:end] + s[end + 1 : close], s[close + 1 :].lstrip(_WHITESPACE)
    rest = s[end + 1 :].lstrip(_WHITESPACE)
    if s[end] != "=" and rest.startswith("="):
        rest = rest[1:].lstrip(_WHITESPACE)
    return s[:end], rest


def split_args(s: str) -> list[str]:
    """OpenSSH's argv_split() with comments: quotes, backslash escapes, '#' ends the line.

    Single and double quotes group words; a backslash escapes a quote, a
    backslash, or (outside quotes) a space, and is kept before anything else.
    A '#' starts a comment only at the start of a word. Raises ValueError on
    an unbalanced quote, as OpenSSH refuses such a line.
    """
    args: list[str] = []
    i, n = 0, len(s)
    while i < n:
        if s[i] in " \t":
            i += 1
            continue
        if s[i] == "#":
            break
        word: list[str] = []
        quote = ""
        while i < n:
            ch = s[i]
            nxt = s[i + 1] if i + 1 < n else ""
            if ch == "\\" and (nxt in ("\'", '"', "\\") or (not quote and nxt == " ")):
                word.append(nxt)
                i += 2
                continue
            if not quote and ch in " \t":
                break
            if not quote and ch in "\"'":
                quote = ch
            elif quote and ch == quote:
                quote = ""
            else:
                word.append(ch)
            i += 1
        if quote:
            raise ValueError("unbalanced quotes")
        args.append("".join(word))
    return args


# A line of plain words between spaces and tabs, nothing to unquote or
# unescape, no '=' and no comment: most lines of a hosts file. Any other
# white space or character goes the long way, as OpenSSH reads it.
_PLAIN_LINE = re.compile(r"[ \t]*([^\s\"'\\#=]+)((?:[ \t]+[^\s\"'\\#=]+)*)[ \t]*")


def split_line(line: str) -> tuple[str, list[str]] | None:
    """Split a config line into (lower-case keyword, arguments), as OpenSSH does.

    Returns None for blank and comment lines; raises ValueError for a line
    OpenSSH would reject (unbalanced quotes). A keyword without arguments
    gives an empty list: OpenSSH rejects that too, the caller says so.
    """
    plain = _PLAIN_LINE.fullmatch(line)
    if plain is not None:  # what split_line_as_ssh says, a thousand hosts files' lines sooner
        return plain[1].lower(), plain[2].split()
    if not line.strip(" \t"):  # a blank line, the next most common
        return None
    return split_line_as_ssh(line)


def split_line_as_ssh(line: str) -> tuple[str, list[str]] | None:
    """split_line the long way: OpenSSH's strdelim() then argv_split()."""
    line = line.rstrip(_WHITESPACE + "\f")
    keyword, rest = _strdelim(line)
    if keyword == "":  # leading white space: OpenSSH skips it once
        keyword, rest = _strdelim(rest)
    if not keyword or keyword.startswith("#"):
        return None
    return keyword.lower(), split_args(rest)


def host_words_match(name: str, words: list[str] | tuple[str, ...]) -> bool:
    """Whether a `Host` line with `words` applies to `name`, as OpenSSH decides.

    Each word is a pattern of its own (`*` and `?` only, case-sensitive); a
    matching `!word` rules the line out, otherwise one matching word is enough.
    """
    matched = False
    for word in words:
        negated = word.startswith("!")
        pattern = word[1:] if negated else word
        if re.fullmatch(_glob_regex(pattern), name, re.S):
            if negated:
                return False
            matched = True
    return matched


@cache
def _glob_regex(pattern: str) -> str:
    return "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
