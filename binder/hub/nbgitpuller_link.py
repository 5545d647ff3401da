#!/usr/bin/env python3
"""Print the nbgitpuller link that pulls the course into a student's JupyterHub home.

    python3 binder/hub/nbgitpuller_link.py https://hub.example.org
    python3 binder/hub/nbgitpuller_link.py https://hub.example.org --notebook notebooks/03_exchange.ipynb

A student who follows the link logs in, gets their server started (with the
image built from this repository), finds the course cloned into ~/ipukit (or,
when it is already there, updated without losing their edits: nbgitpuller's
automatic merging) and lands on the notebook in JupyterLab.  The link is
``<hub>/hub/user-redirect/git-pull?repo=...&urlpath=...&branch=...``;
tests/hub/test_hub.py follows one on a real JupyterHub.
"""
from __future__ import annotations

import argparse
from urllib.parse import urlencode

REPO = "https://github.com/ipukit/ipukit"
BRANCH = "main"
FOLDER = "ipukit"                       # nbgitpuller clones into ~/<last part of the repo URL>
NOTEBOOK = "notebooks/00_why_ipu.ipynb"


def nbgitpuller_link(hub_url: str, repo: str = REPO, branch: str = BRANCH, notebook: str = NOTEBOOK,
                     folder: str = FOLDER) -> str:
    """The link for ``hub_url``: pull ``branch`` of ``repo`` into ~/``folder`` and open ``notebook`` in JupyterLab."""
    query = urlencode({"repo": repo, "urlpath": f"lab/tree/{folder}/{notebook}", "branch": branch})
    return f"{hub_url.rstrip('/')}/hub/user-redirect/git-pull?{query}"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("hub_url", help="the hub's address, e.g. https://hub.example.org")
    parser.add_argument("--repo", default=REPO, help=f"the course's git repository (default {REPO})")
    parser.add_argument("--branch", default=BRANCH, help=f"the branch to pull (default {BRANCH})")
    parser.add_argument("--notebook", default=NOTEBOOK, help=f"the notebook to open (default {NOTEBOOK})")
    args = parser.parse_args(argv)
    print(nbgitpuller_link(args.hub_url, args.repo, args.branch, args.notebook))


if __name__ == "__main__":
    main()
