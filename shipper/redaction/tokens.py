"""Secrets known by their shape wherever they stand, with no word before them naming them: service
tokens by their prefixes, private keys and their bodies (armoured, cut at the head or the tail, in
base64), JSON Web Keys, password hashes, `user:password` encoded in base64 or hex, generated values
under keys that name nothing, Ansible vaults, recovery phrases and clear-text password schemes.
"""

from __future__ import annotations

import binascii
import collections
import itertools
import math
import re
from collections.abc import Iterator
from typing import Final

from shipper.lazy_regex import compile_lazily
from shipper.redaction.keys import (
    _PROSE_WORDS,
    _RESULT_WORDS,
    _STATUS_WORDS,
    _is_cursor,
    _is_websocket_handshake,
    key_words,
)
from shipper.redaction.model import (
    Finding,
    RuleRunner,
    _group_findings,
    _lowered,
    _not_redacted,
    _trie_pattern,
)

# The kinds of armoured block that hold a secret key: PEM and PGP private keys, an age or a PGP `SECRET
# KEY`, OpenVPN's static (`tls-auth`/`secret`) keys; in five dashes or in RFC 4716's `---- ` (an SSH2
# key as PuTTYgen and SSH.com export it).
_SECRET_KEY_KIND: Final = (
    r"(?:[A-Z0-9 ]{0,64}(?:PRIVATE|SECRET) KEY(?: BLOCK)?|OpenVPN Static key V[0-9]{1,2}"
    r"|[A-Z0-9 ]{0,64}(?:TOKEN|PASSWORD|CREDENTIALS?))"  # (cloudflared's `ARGO TUNNEL TOKEN`)
)
_PRIVATE_KEY_BLOCK: Final = compile_lazily(
    rf"(?:-----|---- )BEGIN (?P<kind>{_SECRET_KEY_KIND})(?:-----| ----)"
    r"(?P<secret>.*?)(?:(?:-----|---- )END (?P=kind)(?:-----| ----)|\Z)",
    re.DOTALL,
)
# minisign's and signify's secret key files: an `untrusted comment:` naming a secret key, then its base64.
_SIGNING_SECRET_KEY: Final = compile_lazily(
    r"(?i:untrusted comment:)[^\n]{0,128}(?i:secret key)[^\n]{0,64}(?:\r?\n|\\r?\\n)"
    r"(?P<secret>[A-Za-z0-9+/]{40,1024}={0,2})"
)
# Well-known token formats: each prefix is specific enough to hide the token wherever it stands.
_WELL_KNOWN: Final = compile_lazily(
    r"(?<![A-Za-z0-9_\-])(?:"
    r"(?P<aws_access_key_id>(?:AKIA|ASIA)[0-9A-Z]{16})"  # long-term and temporary keys (AROA... are ids)
    r"|(?P<google_api_key>AIza[0-9A-Za-z_\-]{35,64})"  # (lengths a little loose: a format may grow)
    # (a service account's is dotted: `ya29.c.b0Aaek...`)
    r"|(?P<google_oauth_token>ya29\.(?=[0-9A-Za-z_\-.]{20})[0-9A-Za-z_\-]{1,4096}(?:\.[0-9A-Za-z_\-]{1,4096}){0,3})"
    r"|(?P<github_token>gh[pousr]_[A-Za-z0-9]{20,255}|github_pat_[A-Za-z0-9_]{20,255})"
    r"|(?P<gitlab_token>gl(?:pat|dt|ptt|rt|cbt|oas|soat|ft|imt|agent)-[A-Za-z0-9_\-]{20,255})"
    r"|(?P<bitbucket_token>ATBB[A-Za-z0-9_=.\-]{20,255})"
    r"|(?P<slack_token>xox[abposrce]-[A-Za-z0-9\-]{10,255}|xapp-[0-9]-[A-Za-z0-9\-]{10,255})"
    r"|(?P<stripe_key>(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{10,255})"
    # a PaymentIntent's or SetupIntent's client secret: the object's id, `_secret_`, then the secret
    r"|(?:pi|seti)_[0-9A-Za-z]{14,64}_secret_(?P<stripe_client_secret>[0-9A-Za-z]{16,128})"
    r"|(?P<openai_key>sk-(?:proj-|ant-)?[A-Za-z0-9_\-]{20,255})"
    r"|(?P<npm_token>npm_[A-Za-z0-9]{36,64})"
    r"|(?P<pypi_token>pypi-[A-Za-z0-9_\-]{50,512})"
    r"|(?P<sendgrid_key>SG\.[A-Za-z0-9_\-]{16,32}\.[A-Za-z0-9_\-]{16,64})"
    r"|(?P<huggingface_token>hf_[A-Za-z0-9]{30,64})"
    r"|(?P<telegram_bot_token>[0-9]{8,10}:AA[A-Za-z0-9_\-]{33})"
    r"|(?P<stripe_webhook_secret>whsec_[A-Za-z0-9+/=]{24,128})"
    r"|(?P<vault_token>hv[sbr]\.[A-Za-z0-9_\-]{24,512})"
    r"|(?P<databricks_token>dapi[0-9a-f]{32}(?:-[0-9]{1,2})?)"
    r"|(?P<shopify_token>shp(?:at|ca|pa|ss)_[A-Fa-f0-9]{32})"
    r"|(?P<digitalocean_token>do[opr]_v1_[a-f0-9]{64})"
    r"|(?P<grafana_token>glsa_[A-Za-z0-9_]{32,64}|glc_[A-Za-z0-9+/=_\-]{32,1024})"
    r"|(?P<postman_key>PMAK-[a-f0-9]{24}-[a-f0-9]{34})"
    r"|(?P<age_secret_key>AGE-SECRET-KEY-1[0-9A-Z]{58})"
    r"|(?P<tor_onion_service_key>ED25519-V3:[A-Za-z0-9+/]{80,90}={0,2})"  # (torrc, ADD_ONION's answer)
    # a BIP32 extended private key (`xprv`, testnet `tprv`, SLIP-132's `yprv`/`zprv`...), base58
    r"|(?P<bip32_private_key>[tuvxyzUVYZ]prv[1-9A-HJ-NP-Za-km-z]{100,112})"
    r"|(?P<linear_key>lin_api_[A-Za-z0-9]{32,64})"
    r"|(?P<django_secret_key>django-insecure-[^\s\"']{20,256})"  # `startproject`'s generated SECRET_KEY
    r"|(?P<mailgun_key>key-[0-9a-f]{32})"
    r"|(?P<google_oauth_client_secret>GOCSPX-[A-Za-z0-9_\-]{28,64})"
    r"|(?P<google_refresh_token>1//0[A-Za-z0-9_\-]{40,1024})"
    r"|(?P<atlassian_token>ATATT3[A-Za-z0-9_\-=]{100,512})"
    r"|(?P<groq_key>gsk_[A-Za-z0-9]{48,64})"
    r"|(?P<xai_key>xai-[A-Za-z0-9]{60,128})"
    r"|(?P<replicate_token>r8_[A-Za-z0-9]{30,64})"
    r"|(?P<perplexity_key>pplx-[A-Za-z0-9]{40,64})"
    r"|(?P<doppler_token>dp\.(?:st|sa|ct|pt|scim|audit)\.(?:[a-z0-9_\-]{1,64}\.)?[A-Za-z0-9]{40,64})"
    r"|(?P<new_relic_key>NRAK-[A-Z0-9]{27})"
    r"|(?P<supabase_token>sbp_[a-f0-9]{40})"
    r"|(?P<figma_token>figd_[A-Za-z0-9_\-]{40,64})"
    r"|(?P<notion_token>ntn_[A-Za-z0-9]{40,64}|secret_[A-Za-z0-9]{43})"
    r"|(?P<fly_token>fo1_[A-Za-z0-9_\-]{40,64})"
    r"|(?P<square_token>sq0(?:atp|csp)-[A-Za-z0-9_\-]{22,64}|(?<![+/])EAAA[A-Za-z0-9_\-+]{60})"
    r"|(?P<mailchimp_key>[0-9a-f]{32}-us[0-9]{1,2})"
    r"|(?P<tencent_secret_id>AKID[A-Za-z0-9]{32})"
    r"|(?P<sentry_token>sntry[us]_[A-Za-z0-9_=+/\-]{40,512})"
    r"|(?P<onepassword_token>ops_eyJ[A-Za-z0-9+/=_\-]{40,4096})"
    # (3 characters, a digit, `Q~`: Microsoft Entra ID's client secrets)
    r"|(?P<azure_client_secret>(?<![~.])[A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.\-]{31,34}(?![~.]))"
    # a JWE (five parts; the second, the encrypted key, is empty with `dir`), then a JWS of any payload
    # (`e30` is `{}`, a detached or non-JSON payload is not `eyJ`)
    r"|(?P<jwe>eyJ[A-Za-z0-9_\-]{5,4096}\.[A-Za-z0-9_\-]{0,8192}\.[A-Za-z0-9_\-]{8,1024}"
    r"\.[A-Za-z0-9_\-]{1,65536}\.[A-Za-z0-9_\-]{8,1024})"
    r"|(?P<jwt>eyJ[A-Za-z0-9_\-]{5,4096}\.[A-Za-z0-9_\-]{2,8192}\.[A-Za-z0-9_\-]{0,4096})"
    r")(?![A-Za-z0-9_\-])"
)
# The ninth sweep's services' token formats, each of its own prefix: apart from `_WELL_KNOWN` (whose every
# alternative is tried at every word's start of every text with a trigger), read where a prefix stands.
_SERVICE_TOKEN: Final = compile_lazily(
    r"(?<![A-Za-z0-9_\-])(?:"
    r"(?P<docker_hub_token>dckr_(?:pat|oat)_[A-Za-z0-9_\-]{20,128})"
    r"|(?P<tailscale_key>tskey-(?:auth|api|client|scim|webhook)-[A-Za-z0-9]{6,64}-[A-Za-z0-9]{20,128})"
    r"|(?P<planetscale_token>pscale_(?:tkn|pw|oauth)_[A-Za-z0-9_\-.]{32,128})"
    r"|(?P<sonarqube_token>sq[upa]_[0-9a-f]{40})"
    r"|(?P<langsmith_key>lsv2_(?:pt|sk)_[0-9a-f]{32}_[0-9a-f]{10})"
    r"|(?P<pinecone_key>pcsk_[A-Za-z0-9_]{40,128})"
    r"|(?P<dynatrace_token>dt0[a-z][0-9]{2}\.[A-Z0-9]{24}\.[A-Z0-9]{64})"
    r"|(?P<buildkite_token>bkua_[0-9a-f]{40})"
    r"|(?P<render_key>rnd_[A-Za-z0-9]{28,64})"
    r"|(?P<netlify_token>nfp_[A-Za-z0-9]{36,64})"
    r"|(?P<circleci_token>CCIPAT_[A-Za-z0-9]{20,32}_[0-9a-f]{40})"
    r"|(?P<mapbox_secret_token>sk\.eyJ[A-Za-z0-9_\-]{20,1024}\.[A-Za-z0-9_\-]{16,128})"
    r"|(?P<firebase_server_key>(?:AAAA[A-Za-z0-9_\-]{7}:)?APA91b[A-Za-z0-9_\-]{100,400})"
    # the twentieth sweep's: Terraform Cloud/HCP, Braintree, Contentful, Pulumi, Prefect, Adafruit IO,
    # Dropbox, Flutterwave, RubyGems, Brevo, Shippo, NuGet, JFrog (key and reference token), Meta's and
    # Instagram's access tokens, X's app bearer token, Fly.io, Supabase, PostHog's personal key,
    # Yandex's OAuth token, Cloudflare's Origin CA key, PASETO tokens, macaroons, older AWS session tokens
    r"|(?P<terraform_token>[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=\-]{60,128})"
    r"|(?P<braintree_token>access_token\$(?:production|sandbox)\$[0-9a-z]{16}\$[0-9a-f]{32})"
    r"|(?P<contentful_token>CFPAT-[A-Za-z0-9_\-]{43,64})"
    r"|(?P<pulumi_token>pul-[a-f0-9]{40})"
    r"|(?P<prefect_key>pnu_[A-Za-z0-9]{36})"
    r"|(?P<adafruit_key>aio_[A-Za-z0-9]{28})"
    r"|(?P<dropbox_token>sl\.(?:u\.)?[A-Za-z0-9_\-]{130,1024})"
    r"|(?P<flutterwave_key>FLWSECK(?:_TEST)?-[a-f0-9]{32}-X)"
    r"|(?P<rubygems_key>rubygems_[a-f0-9]{48})"
    r"|(?P<brevo_key>xkeysib-[a-f0-9]{64}-[A-Za-z0-9]{16})"
    r"|(?P<shippo_token>shippo_(?:live|test)_[a-f0-9]{40})"
    r"|(?P<nuget_key>oy2[a-z0-9]{43})"
    r"|(?P<jfrog_token>AKCp[A-Za-z0-9]{60,80}|cmVmdGtu[A-Za-z0-9+/=]{40,128})"
    r"|(?P<meta_token>EAA[A-Z][A-Za-z0-9]{80,512}|IGQ[VW][A-Za-z0-9_\-]{80,512})"
    r"|(?P<x_bearer_token>A{21,24}[A-Za-z0-9%]{40,256})"
    r"|(?P<fly_macaroon>fm[12][ar]?_[A-Za-z0-9+/=_\-]{40,8192})"
    r"|(?P<supabase_secret>sb_secret_[A-Za-z0-9_\-]{20,128})"
    r"|(?P<posthog_key>phx_[A-Za-z0-9]{40,64})"
    r"|(?P<yandex_token>y[0-3]_[A-Za-z0-9_\-]{50,64})"
    r"|(?P<cloudflare_origin_key>v1\.0-[a-f0-9]{24}-[a-f0-9]{146})"
    r"|(?P<paseto_token>v[1-4]\.(?:local|public)\.[A-Za-z0-9_\-]{40,8192}(?:\.[A-Za-z0-9_\-]{1,1024})?)"
    r"|(?P<macaroon>MDAx[A-Za-z0-9+/=_\-]{50,8192})"
    r"|(?P<aws_session_token>F[wQ]oGZXIvYXdzE[A-Za-z0-9+/=]{100,4096})"
    # a later probe's: Sourcegraph's access token, Heroku's newer API key, a Docker swarm's join token
    # (whoever has it joins the swarm), New Relic's license key (its suffix the prefix others have)
    r"|(?P<sourcegraph_token>sgp_(?:[a-f0-9]{16}_|local_)?[a-f0-9]{40})"
    r"|(?P<heroku_key>HRKU-[A-Za-z0-9_\-]{40,128})"
    r"|(?P<swarm_join_token>SWMTKN-1-[a-z0-9]{40,64}-[a-z0-9]{20,32})"
    r"|(?P<new_relic_license_key>[a-f0-9]{36}NRAL)"
    # Werkzeug's (Flask's) debugger PIN: whoever has it runs code in the program's console
    r"|(?<=Debugger PIN: )(?P<werkzeug_debugger_pin>[0-9]{3,5}(?:-[0-9]{3,5}){1,4})"
    r")(?![A-Za-z0-9_\-])"
)
_SERVICE_TOKEN_TRIGGERS: Final = (
    "dckr_", "tskey-", "pscale_", "squ_", "sqp_", "sqa_", "lsv2_", "pcsk_", "dt0", "bkua_", "rnd_", "nfp_",
    "ccipat_", "sk.eyj", "apa91b",
    ".atlasv1.", "access_token$", "cfpat-", "pul-", "pnu_", "aio_", "sl.", "flwseck", "rubygems_", "xkeysib-",
    "shippo_", "oy2", "akcp", "cmvmdgtu", "eaa", "igqv", "igqw", "aaaaaaaaaaaaaaaaaaaaa", "fm1", "fm2",
    "sb_secret_", "phx_", "y0_", "y1_", "y2_", "y3_", "v1.0-", ".local.", ".public.", "mdax",
    "fwogzxivyxdze", "fqogzxivyxdze", "debugger pin: ", "sgp_", "hrku-", "swmtkn-", "nral",
)  # fmt: skip
# The base64 of a private key without its armour (a PEM split over log records, or cut by
# truncation), known by its first bytes: a DER SEQUENCE, then version 0 or 1 (PKCS#8 and PKCS#1 RSA
# `MII..IBADAN` / `MII..IBAAKC`, PKCS#8 and SEC1 EC `MIG.AgEA` / `MHcCAQEE`, Ed25519 and X25519
# `MC4CAQAwBQYDK2V`, a PKCS#12 bundle's version 3 `MII..IBAzCC`: a .pfx holds its private key), or the
# OpenSSH key magic. Public keys and certificates begin otherwise. The body
# runs on over the lines that are base64 through and through (real or escaped line breaks).
_PRIVATE_KEY_BODY: Final = compile_lazily(
    r"(?<![A-Za-z0-9+/])(?:MII[A-Za-z0-9+/]{3}IBA(?:DAN|AKC|AKB|zCC)|MI[GH][A-Za-z0-9+/]AgE[AB]|MHcCAQEE"
    r"|MC4CAQAwBQYDK2V|b3BlbnNzaC1rZXktdjE)[A-Za-z0-9+/=]{0,8192}"
    r"(?:(?:\r?\n|\\r\\n|\\n)[A-Za-z0-9+/=]{4,128}(?=\r?\n|\\[rn]|[\"']|\Z)){0,512}"
)
# A password hash is a credential to crack offline, whatever key it stands under (a user record's
# `hash`, an htpasswd or shadow line): bcrypt, md5/sha-crypt, Apache's apr1, yescrypt, argon2 and
# Django's PBKDF2, each known by its scheme prefix and the exact shape of its salt and digest.
_CRYPT_CHARACTER: Final = r"[./A-Za-z0-9]"
_PASSWORD_HASH: Final = compile_lazily(
    r"(?<![\w$./])(?:"
    rf"\$2[abxy]\$[0-9]{{2}}\${_CRYPT_CHARACTER}{{53}}"
    rf"|\$[156]\$(?:rounds=[0-9]{{1,9}}\$)?{_CRYPT_CHARACTER}{{1,16}}\${_CRYPT_CHARACTER}{{22,86}}"
    rf"|\$apr1\${_CRYPT_CHARACTER}{{1,8}}\${_CRYPT_CHARACTER}{{22}}"
    rf"|\$y\${_CRYPT_CHARACTER}{{1,32}}\${_CRYPT_CHARACTER}{{1,86}}\${_CRYPT_CHARACTER}{{43}}"
    r"|\$argon2(?:id|i|d)\$v=[0-9]{1,3}\$m=[0-9]{1,10},t=[0-9]{1,10},p=[0-9]{1,4}"
    r"\$[A-Za-z0-9+/]{8,128}\$[A-Za-z0-9+/]{16,512}"
    # Juniper's `$9$` secrets (reversible: the key itself) and Cisco's type 9 (scrypt) `$9$salt$hash`
    r"|\$9\$[A-Za-z0-9./\-$]{8,512}"
    r"|pbkdf2_sha(?:1|256|512)\$[0-9]{1,9}\$[A-Za-z0-9]{1,64}\$[A-Za-z0-9+/]{20,512}={0,2}"
    # LDAP and htpasswd's `{SHA}`/`{SSHA}`... base64 of a digest (and salt)
    r"|\{(?i:S?SHA(?:256|384|512)?|S?MD5|PBKDF2[\w\-]{0,16})\}[A-Za-z0-9+/.$]{20,512}={0,2}"
    r")(?![./A-Za-z0-9+=])"
)
_PASSWORD_HASH_TRIGGERS: Final = (
    "$2a$", "$2b$", "$2x$", "$2y$", "$1$", "$5$", "$6$", "$apr1$", "$y$", "$argon2", "pbkdf2_", "$9$",
    # (`{SHA}` digests by the scheme's end: a trigger beginning with `{` slowed every line's scan by 7%)
    "sha}", "sha256}", "sha384}", "sha512}", "md5}", "pbkdf2",
)  # fmt: skip

# A secret with no prefix of its own, known by the public id it stands beside (within a few
# characters on the same line): an AWS access key id and its 40-character secret access key, a
# Twilio account SID and its 32-hex auth token.
_PAIRED_SECRET: Final = compile_lazily(
    r"(?<![A-Za-z0-9])(?:"
    r"(?:AKIA|ASIA)[0-9A-Z]{16}[^\n]{1,48}?(?<![A-Za-z0-9/+])(?P<aws_secret_key>[A-Za-z0-9/+]{40})"
    r"(?![A-Za-z0-9/+=])"
    r"|AC[0-9a-f]{32}[^\n]{1,48}?(?<![0-9A-Za-z])(?P<twilio_auth_token>[0-9a-f]{32})(?![0-9A-Za-z])"
    r")"
)


def _token_like(value: str) -> bool:
    """A run of letters and digits that reads like a generated token, not a name: letters and digits
    alternate at least four times (`a1B2...`, 40 hex), where a name has a number at most at its end;
    or 24+ hex digits with both (a Sentry DSN's key)."""
    kinds = [c.isdigit() for c in value if c != "_"]
    if len(value) >= 24 and any(kinds) and not all(kinds) and _HEX_RUN.fullmatch(value):
        return True
    return sum(1 for a, b in itertools.pairwise(kinds) if a != b) >= 4


_HEX_RUN: Final = compile_lazily(r"[0-9a-fA-F]{24,256}")


def _well_known(_: RuleRunner, text: str) -> Iterator[Finding]:
    for match in _WELL_KNOWN.finditer(text):
        name = match.lastgroup or "well_known_token"
        yield Finding(*match.span(name), name)


# The private lines of a PuTTY key file (`.ppk`): the base64 lines after `Private-Lines: N`.
_PUTTY_PRIVATE_LINES: Final = compile_lazily(
    r"(?mi)(?:^|(?<=\\n))Private-Lines:[ \t]{0,8}[0-9]{1,4}[ \t]{0,8}(?:\r?\n|(?:\\r)?\\n)"
    r"(?P<secret>[A-Za-z0-9+/=]{1,128}(?:(?:\r?\n|(?:\\r)?\\n)[A-Za-z0-9+/=]{1,128}(?=\s|\\[rn]|\Z)){0,512})"
)


# A value that reads like a generated secret under a key that names nothing (`sig_v2=...`, `"dsn": "..."`,
# `hmac: ...`): 24+ token characters mixing lower and upper case and digits, spread like random ones
# (Shannon entropy, digits among letters), under a key that is no id, hash or version. Also looked for
# before the rules in a text without a trigger word.
# (found by its separator and value, the key read back: a pattern that began with the key would be tried
# at every word of a text; `key: value`, not the `a:b:c` of an ARN or a URN)
_RANDOM_VALUE: Final = compile_lazily(
    r"[=:](?:(?<==)|(?=[ \t\"']))[ \t]{0,8}[\"']?(?P<value>(?=[A-Za-z0-9+/_\-]{0,4096}?[0-9])"
    r"(?=[A-Za-z0-9+/_\-]{0,4096}?[a-z])(?=[A-Za-z0-9+/_\-]{0,4096}?[A-Z])"
    r"[A-Za-z0-9+/_\-]{24,4096}={0,2})(?![A-Za-z0-9+/=_\-])"
)
# What every generated value's pair holds, searched before the rules in a text without a trigger word (a
# set first, no look-around: a quarter of the trigger scan's cost a character).
_RANDOM_VALUE_GATE: Final = compile_lazily(r"[=:][ \t]{0,8}[\"']?[A-Za-z0-9+/_\-]{24}")
# A JSON Web Key's public members (a modulus, an exponent, a curve point, a thumbprint), and (`_jwk`) its
# private ones: RSA's `d`, `p`, `q`, `dp`, `dq`, `qi` (and `oth`'s), EC's and OKP's `d`, a symmetric `k`.
_JWK_PUBLIC_MEMBERS: Final = frozenset({"n", "e", "x", "y", "x5t", "x5t#S256"})
_JWK_PRIVATE_NAMES: Final = frozenset({"d", "p", "q", "dp", "dq", "qi", "k", "oth"})
_JWK_PRIVATE_MEMBER: Final = compile_lazily(
    r"(?P<q>\\?[\"'])(?:d|p|q|dp|dq|qi|k|r|t)(?P=q)[ \t]{0,8}(?:=>|:)[ \t]{0,8}(?P<vq>\\?[\"'])"
    r"(?P<secret>[A-Za-z0-9_\-]{4,8192}={0,2})(?P=vq)"
)


def _jwk(_: RuleRunner, text: str) -> Iterator[Finding]:
    """A JSON Web Key's private members, in a text that names a key type (`"kty"`)."""
    if _JWK_KEY_TYPE.search(text) is not None:
        yield from _group_findings(_JWK_PRIVATE_MEMBER, text, "jwk_private_member")


_JWK_KEY_TYPE: Final = compile_lazily(r"[\"']kty\\?[\"'][ \t]{0,8}(?:=>|:)")
_KEY_BEFORE_VALUE: Final = compile_lazily(
    r"(?<![\w.\-])(?P<kq>[\"']?)(?P<key>[A-Za-z_][\w.\-]{0,63})(?P=kq)[ \t]{0,8}\Z"
)
_NAME_SEPARATORS: Final = compile_lazily(r"[\-_./]")  # (and a path's)
_WORD_PART: Final = compile_lazily(
    r"[a-z]{2,32}|(?:[A-Z][a-z]{1,32}){1,4}|[A-Z]{2,6}|[A-Z][a-z]{0,32}[0-9]{1,4}[A-Z]?[a-z]{0,32}"
)
# A lower-case letter alone between others (`aB3x`): random text has several, a camel-case name none.
_LONE_LOWER: Final = compile_lazily(r"(?<![a-z])[a-z](?![a-z])")

# Keys whose value is random but no secret: ids, digests, versions, names, places.
_ID_WORDS: Final = frozenset(
    {
        "id", "ids", "uuid", "guid", "uid", "hash", "sha", "sha1", "sha256", "sha512", "md5", "digest",
        "etag", "checksum", "crc", "commit", "rev", "revision", "version", "trace", "span", "request",
        "correlation", "fingerprint", "path", "file", "filename", "url", "uri", "name", "block", "blk",
        "ref", "tag", "image", "build", "run", "job", "msg", "message", "object", "oid", "cid",
        "sid", "host", "node", "instance", "container", "pod", "task", "upload", "arn", "address",
        "content", "bytes", "body", "payload", "blob", "preset", "marker", "cursor", "page", "data",
        "identifier", "identifiers", "requestid", "link", "subnet", "vpc", "policy", "group", "location",
        "prefix", "iterator", "public", "certificate", "cert", "integrity",
    }
)  # fmt: skip


def _random_value(_: RuleRunner, text: str) -> Iterator[Finding]:
    jwk = "kty" in text
    for match in _RANDOM_VALUE.finditer(text):
        key = _KEY_BEFORE_VALUE.search(text, max(0, match.start() - 74), match.start())
        if key is None or (jwk and key["key"] in _JWK_PUBLIC_MEMBERS):
            continue
        words = key_words(key["key"])
        payload = len(match["value"]) > 64  # (`nonce_data=<32>`: a key's size; a payload is longer)
        if not words or (words[-1] in _ID_WORDS and (words[-1] != "data" or payload)):
            continue
        if (len(words) > 1 and words[-2] in _ID_WORDS) or _is_cursor(words) or _is_websocket_handshake(words):
            continue
        if words[-1] in _STATUS_WORDS or words[-1] in _PROSE_WORDS or words[-1] in _RESULT_WORDS:
            continue  # `login rejected: ...`: a message, whose value the found secrets' copies are matched to
        value = match["value"]
        if text.startswith("(", match.end()):
            continue  # `maps = convertUFO1OrUFO2KerningToUFO3Kerning(`: a call
        if value.startswith((_BASE64_ARMOUR, *_BASE64_FILE_MAGIC)) or value.startswith(
            ("sha256-", "sha384-", "sha512-")
        ):
            continue  # a certificate or public key in base64 (a private one: `_base64_pem`), an SRI
            # digest, a file's bytes (an image's thumbnail, a PDF)
        parts = [part for part in _NAME_SEPARATORS.split(value) if not _HEX_RUN.fullmatch(part + "0" * 24)]
        if _generated(value) and _generated("".join(parts)):  # (a name with a UUID in it is no secret)
            yield Finding(*match.span("value"), "random_value")


def _generated(value: str) -> bool:
    """A run of token characters that reads like generated randomness: lower and upper case and digits
    mixed, digits spread among letters, not words of a name or a path, and about 3.5 bits of entropy a
    character or more (a camel-case name or a path repeats its letters)."""
    if not (
        any(c.islower() for c in value) and any(c.isupper() for c in value) and any(map(str.isdigit, value))
    ):
        return False
    if not _token_like(value.replace("/", "").replace("+", "")) or _LONE_LOWER.search(value) is None:
        return False  # (`fontInfoVersion2OpenTypeOS2PanoseValidator`: words of a name, and numbers)
    parts = _NAME_SEPARATORS.split(value)
    words = sum(1 for part in parts if _WORD_PART.fullmatch(part))
    if len(parts) >= 3 and words >= 2 and 2 * words >= len(parts):
        return False  # `Microsoft-Windows-PlatformUpdate-Win7-SRV08R2-Package`: a name of words
    counts = collections.Counter(value)
    size = len(value)
    return -sum(n / size * math.log2(n / size) for n in counts.values()) >= 3.5


def _paired_secret(_: RuleRunner, text: str) -> Iterator[Finding]:
    for match in _PAIRED_SECRET.finditer(text):
        name = match.lastgroup or "paired_secret"
        yield Finding(*match.span(name), name)


# A Discord bot's token, wherever it stands (`client.run("...")` in a traceback's source line): the
# base64 of the bot's user id (a snowflake, 17-20 digits: `M`, `N` or `O` first), a dot, 6 characters
# of timestamp, a dot, 27-40 of signature. The id is decoded to tell it from other dotted tokens.
_DISCORD_TOKEN: Final = compile_lazily(
    r"(?<![\w\-.])(?P<id>[MNO][DTjz][A-Za-z0-9]{22,26})\.[A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{27,40}(?![\w\-.])"
)
# (`client.run("...")` is how discord.py starts a bot with its token, as a traceback's source line shows
# it; a bare token elsewhere is left to its name: a pattern without a word to look for first would cost
# every line)
_DISCORD_TOKEN_TRIGGERS: Final = ('run("', "run('", "discord", "token")


def _discord_token(_: RuleRunner, text: str) -> Iterator[Finding]:
    for match in _DISCORD_TOKEN.finditer(text):
        encoded = match["id"]
        try:
            user_id = binascii.a2b_base64(encoded + "=" * (-len(encoded) % 4))
        except binascii.Error:
            continue
        if user_id.isdigit() and 17 <= len(user_id) <= 20:
            yield Finding(*match.span(), "discord_token")


# A PEM private key encoded in base64 whole (kubeconfig's `client-key-data`, a Secret's `tls.key`, an
# environment variable): `-----BEGIN ` is `LS0tLS1CRUdJTi` in base64, and the first characters decoded
# name a private key (a certificate's or a public key's stay).
_BASE64_ARMOUR: Final = "LS0tLS1CRUdJTi"
# The base64 of a file known by its first bytes: JPEG, PNG, GIF, PDF, RIFF (WebP, WAV), gzip, zip, an XML
# or SVG text, ICO; its bytes are content, random-looking as they are (a PKCS#12 bundle, whose first bytes
# are a DER SEQUENCE's, is `_PRIVATE_KEY_BODY`'s).
_BASE64_FILE_MAGIC: Final = (
    "/9j/", "iVBORw0KGgo", "R0lGOD", "JVBERi0", "UklGR", "H4sI", "UEsDB", "PD94bWwg", "PHN2Zy", "AAABAA",
)  # fmt: skip
_BASE64_PEM: Final = compile_lazily(
    r"(?<![A-Za-z0-9+/])LS0tLS1CRUdJTi[A-Za-z0-9+/]{8,65536}={0,2}(?![A-Za-z0-9+/=])"
)


def _base64_pem(_: RuleRunner, text: str) -> Iterator[Finding]:
    return _group_findings(_BASE64_PEM, text, "private_key_body", (0,), _armours_a_private_key)


def _armours_a_private_key(_: re.Match[str], encoded: str) -> bool:
    """Whether base64 begins with a private key's armour (a certificate's or a public key's: no)."""
    head = encoded[:64]
    try:
        armour = binascii.a2b_base64(head[: len(head) // 4 * 4])
    except binascii.Error:
        return False
    return b"PRIVATE KEY" in armour.split(b"\n", 1)[0]


# A private key's END line with no BEGIN before it (a message cut at its head keeps its tail): the base64
# lines above it, real or escaped line breaks, up to a line that is not base64 through (of which its
# trailing run: `...[cut]Kx3m...`).
_KEY_END: Final = compile_lazily(rf"(?:-----|---- )END {_SECRET_KEY_KIND}(?:-----| ----)")
_LINE_BREAK_BEFORE: Final = compile_lazily(r"(?:\r?\n|(?:\\r)?\\n)[ \t]{0,64}\Z")
_BASE64_LINE_END: Final = compile_lazily(r"[A-Za-z0-9+/]{1,128}={0,2}[ \t\r]{0,8}\Z")


_KEY_BEGIN: Final = compile_lazily(r"-----BEGIN|---- BEGIN")


def _private_key_tail(_: RuleRunner, text: str) -> Iterator[Finding]:
    previous = 0  # the end of the last END line: a BEGIN after it is this one's
    for end in _KEY_END.finditer(text):
        began = _KEY_BEGIN.search(text, previous, end.start()) is not None
        previous = end.end()
        if began:
            continue  # its BEGIN is there: `_private_key_block` reads it
        start = tail_end = position = end.start()
        for _line in range(512):  # lines, at most
            brk = _LINE_BREAK_BEFORE.search(text, max(0, position - 72), position)
            if brk is None:
                break
            floor = max(0, brk.start() - 200)  # (a line of a key is shorter: no scan back over the text)
            escaped = text.rfind("\\n", floor, brk.start())
            line_start = max(text.rfind("\n", floor, brk.start()) + 1, escaped + 2 if escaped >= 0 else floor)
            run = _BASE64_LINE_END.search(text, max(line_start, brk.start() - 136), brk.start())
            if run is None or run.end() - run.start() < 4:
                break
            if tail_end == end.start():
                tail_end = run.start() + len(run.group().rstrip(" \t\r"))
            start = position = run.start()
            if text[line_start : run.start()].strip(" \t"):
                break  # the line began otherwise: its run was the key's first characters left
        if start < tail_end:
            yield Finding(start, tail_end, "private_key_body")


# A private key's BEGIN line cut at its head (`GP PRIVATE KEY BLOCK-----`, `ATE KEY-----`: a message cut
# short at its start, or a key split over records): its lines are hidden to its END line or the text's end.
_KEY_HEAD_CUT: Final = compile_lazily(
    # (its first words cut anywhere, `PRIVATE`/`SECRET` too: `E KEY BLOCK-----`, `ATE KEY-----`; a whole
    # `-----BEGIN` is `_private_key_block`'s, and an END line none's)
    r"(?m)(?:^|(?<=\\n))(?!-----BEGIN |---- BEGIN |[\- ]{0,5}END )(?:[A-Za-z0-9 \-]{0,80}[ \-])?"
    r"(?:(?:(?:(?:(?:(?:P?R)?I)?V)?A)?T)?E|(?:(?:(?:(?:S?E)?C)?R)?E)?T) KEY(?: BLOCK)?"
    r"(?:-----| ----)[ \t\r]{0,8}(?=\n|\\n|\Z)"
)


def _private_key_cut_head(_: RuleRunner, text: str) -> Iterator[Finding]:
    hidden = 0  # the end of the last key hidden (an END searched for once per key: linear)
    for head in _KEY_HEAD_CUT.finditer(text):
        if head.start() < hidden:
            continue
        end = _KEY_END.search(text, head.end())
        hidden = end.start() if end is not None else len(text)
        if text[head.end() : hidden].strip():
            yield Finding(head.end(), hidden, "private_key_body")
        if end is not None:
            hidden = end.end()


# `user:password` written in base64 or hex with no word naming it (a Basic credential copied without its
# scheme, a proxy's or a broker's header value logged bare): a run of 12+ base64 or 16+ hex characters
# whose bytes read as a user name, a colon and a password of printable characters. (Random bytes, a digest
# or an image's base64 almost never decode to printable text with a colon.)
_ENCODED_RUN: Final = compile_lazily(
    r"(?<![A-Za-z0-9+/=_\-])[A-Za-z0-9+/]{12,1024}={0,2}(?![A-Za-z0-9+/=_\-])"
)
_DECODED_CREDENTIALS: Final = compile_lazily(r"[A-Za-z0-9_.@+\-]{1,64}:(?P<pw>[!-~]{4,256})")
_HEX_DIGITS: Final = frozenset("0123456789abcdefABCDEF")
# The base64 of printable ASCII begins each group of four with one of these (a byte below 0x80 shifted
# right by two), and has `+` and `/` only last in a group: most words and every path fail at once.
_GROUP_STARTS: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef")
# Before the rules, a text without a trigger word is read for these only where a run ends with base64's
# padding (a search led by `=`) or a `3a` (hex's colon) stands: a scan of every run of every line cost a
# third of an ordinary line's redaction.
_PADDED_END: Final = compile_lazily(r"=(?<=[A-Za-z0-9+/]=)=?(?![A-Za-z0-9+/=_\-])")


def _may_be_base64_text(run: str) -> bool:
    slash, plus = run.find("/"), run.find("+")
    return (
        _GROUP_STARTS.issuperset(run[::4]) and (slash < 0 or slash % 4 == 3) and (plus < 0 or plus % 4 == 3)
    )


_URL_SAFE: Final = str.maketrans("-_", "+/")


def _decoded_credentials(run: str) -> bool:
    """Whether a base64 or hex run is the encoding of `user:password` (not of `host:port`)."""
    if ("-" in run or "_" in run) and "+" not in run and "/" not in run:
        run = run.translate(_URL_SAFE)  # base64url (RFC 4648 section 5): `-` and `_` for `+` and `/`
    try:
        if len(run) >= 16 and len(run) % 2 == 0 and _HEX_DIGITS.issuperset(run):
            raw = binascii.a2b_hex(run)
        elif _may_be_base64_text(run.rstrip("=")):
            raw = binascii.a2b_base64(run + "=" * (-len(run) % 4), strict_mode=True)
        else:
            return False
    except (binascii.Error, ValueError):
        return False
    found = _DECODED_CREDENTIALS.fullmatch(raw.decode("latin-1"))
    return found is not None and not found["pw"].isdigit()


def _encoded_credentials(_: RuleRunner, text: str) -> Iterator[Finding]:
    return _group_findings(
        _ENCODED_RUN, text, "encoded_credentials", (0,), lambda _, run: _decoded_credentials(run)
    )


# The words that make a triggered text worth reading for unpadded base64 runs (each run of a 20-frame
# traceback read and its candidates decoded cost 3% of its redaction).
_CREDENTIAL_WORDS: Final = _trie_pattern(
    ("cred", "auth", "pass", "basic", "login", "user", "token", "secret")
)


def _encoded_credentials_rule(redactor: RuleRunner, text: str) -> Iterator[Finding]:
    if (
        "3a" in text
        or "3A" in text
        or ("=" in text and _PADDED_END.search(text) is not None)
        or _CREDENTIAL_WORDS.search(_lowered(text)) is not None
    ):
        yield from _encoded_credentials(redactor, text)


def _private_key_block(_: RuleRunner, text: str) -> Iterator[Finding]:
    return _group_findings(_PRIVATE_KEY_BLOCK, text, "private_key_block", keep=_not_redacted)


# Ansible Vault's ciphertext (`$ANSIBLE_VAULT;1.1;AES256` and its lines of hex, in a file or under a YAML
# `!vault |`): the key is elsewhere, but the lines are the secret as the playbook holds it.
_ANSIBLE_VAULT: Final = compile_lazily(
    r"\$ANSIBLE_VAULT;[0-9.]{1,8};[A-Z0-9]{1,16}(?:;[\w.\-]{1,64})?[ \t]{0,8}(?:\r?\n|\\r?\\n)[ \t]{0,64}"
    r"(?P<secret>[0-9a-f]{2,160}(?:(?:\r?\n|\\r?\\n)[ \t]{0,64}[0-9a-f]{2,160}){0,4096})"
)
# A wallet's recovery words (BIP39: 12 to 24 words of 3 to 8 lower-case letters) under a name for them
# (`recovery phrase: ...`, `seed phrase = ...`, `mnemonic: ...`), which prose on its own line never is.
_SEED_PHRASE: Final = compile_lazily(
    r"(?i:(?:seed|recovery|backup|wallet|secret|mnemonic)[ \t_\-]?phrase|mnemonic(?:[ \t_\-]?words)?)"
    r"[\"']?[ \t]{0,8}[:=][ \t]{0,8}[\"']?(?P<secret>[a-z]{3,8}(?:[ \t]{1,4}[a-z]{3,8}){11,23})(?![\w\-])"
)
# A password stored in the clear under a scheme's name, as Dovecot's and nginx's password files write it
# (`bob:{PLAIN}x`, `{CLEARTEXT}x`, `{PLAIN-TRUNC}x`): the rest after the scheme.
_PLAIN_SCHEME: Final = compile_lazily(
    r"\{(?i:PLAIN(?:-TRUNC)?|CLEARTEXT|CLEAR)\}(?P<secret>[^\s:\"'<>]{1,512})"
)
_PLAIN_SCHEME_TRIGGERS: Final = ("plain}", "plain-trunc}", "cleartext}", "clear}")


def _plain_scheme(_: RuleRunner, text: str) -> Iterator[Finding]:
    if "}" in text:
        yield from _group_findings(_PLAIN_SCHEME, text, "password_hash")


def _seed_phrase(_: RuleRunner, text: str) -> Iterator[Finding]:
    if "hrase" in text or "nemonic" in text or "HRASE" in text or "NEMONIC" in text:
        yield from _group_findings(_SEED_PHRASE, text, "seed_phrase")
