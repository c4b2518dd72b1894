"""The headless core of jtui: no Textual may be imported from here."""

import warnings

# cryptography deprecates DSA (51 warns), and asyncssh touches its DSA classes as it loads: the
# warning is for asyncssh's authors, and printed it would open every `jtui hosts` a user runs.
warnings.filterwarnings("ignore", message="DSA is deprecated", module=r"asyncssh\.")
