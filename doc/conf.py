"""Sphinx configuration for the skalign documentation.

Build (the same command runs in CI, warnings are errors)::

    python -m sphinx -W --keep-going -b html doc doc/_build/html

Needs the ``doc`` extra: ``pip install ".[doc]"``.

Gallery execution convention
----------------------------
Every ``examples/plot_*.py`` script appears in the gallery. Scripts are
*executed* during the build, and their figures captured, unless their name ends
in ``_slow.py`` (e.g. ``plot_alignment_vs_snr_slow.py``): those take more than
about a minute on a laptop CPU, so the gallery shows their code and text but no
output. Run them by hand with ``python examples/<name>.py``. The rule is the
``filename_pattern`` regular expression below; keep an executed example well
under a minute on two cores, since CI builds the whole gallery.

Set ``SKALIGN_DOC_NO_GALLERY=1`` to skip executing every example (for quick
iterations on the text; the CI build never sets it).
"""

import inspect
import os
import re
import sys
import warnings
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Document the checkout being built, not an older installed copy.
sys.path.insert(0, str(HERE.parent))

# The gallery multiplies small matrices (tens to hundreds of columns), where BLAS
# threads cost more than they gain, and many times more on a shared CI machine
# (an MLP fit measured 5x slower with threads than without, on 2 busy cores).
# Must be set before numpy is first imported; an explicit setting wins.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
# POT (soft matching) imports every array backend it finds, PyTorch included,
# which costs tens of seconds on first use; skalign hands it numpy arrays only.
for _backend in ("PYTORCH", "JAX", "TENSORFLOW", "CUPY"):
    os.environ.setdefault(f"POT_BACKEND_DISABLE_{_backend}", "1")

import skalign  # noqa: E402

os.environ.setdefault("MPLBACKEND", "Agg")

# -- project -------------------------------------------------------------------
project = "skalign"
author = "skalign developers"
copyright = f"{date.today().year}, {author}"
release = skalign.__version__
version = ".".join(release.split(".")[:2])

# -- extensions ----------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    # MathJax copied into _static/mathjax and loaded from there: formulas render
    # without internet access (a CDN copy shows raw LaTeX offline)
    "sphinx-mathjax-offline",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]
root_doc = "index"
default_role = "py:obj"

# -- autodoc / autosummary / numpydoc ------------------------------------------------
autosummary_generate = True
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "groupwise"
# Inherited scikit-learn methods (get_params, set_output, ...) carry scikit-learn's
# own docstrings, whose cross-references point into scikit-learn's site; the class
# pages list only what skalign defines and link BaseEstimator through the bases line.
autodoc_inherit_docstrings = False
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

# -- gallery ---------------------------------------------------------------------
_no_gallery = os.environ.get("SKALIGN_DOC_NO_GALLERY", "") not in ("", "0")

sphinx_gallery_conf = {
    "examples_dirs": ["../examples"],
    "gallery_dirs": ["auto_examples"],
    # Executed: examples/plot_*.py except *_slow.py (see the module docstring).
    "filename_pattern": r"[\\/]plot_(?![^\\/]*_slow\.py$)[^\\/]*\.py$",
    "ignore_pattern": r"__init__\.py",
    "plot_gallery": "False" if _no_gallery else "True",
    "within_subsection_order": "FileNameSortKey",
    "backreferences_dir": "gen_modules/backreferences",
    "doc_module": ("skalign",),
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "remove_config_comments": True,
    "show_memory": False,
    "min_reported_time": 1,
    # An example that raises fails the build (the CI contract: every executed
    # example runs).
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
}

# -- HTML ------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skalign {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_sidebars = {"install": [], "api": []}
html_static_path = ["_static"]  # figures of the _slow examples, from local runs
html_show_sourcelink = False

# Matplotlib under Agg warns when an example calls plt.show(); that is harmless.
warnings.filterwarnings(
    "ignore",
    category=UserWarning,
    message=r".*(non-GUI backend|FigureCanvasAgg is non-interactive).*",
)


# -- completeness check ------------------------------------------------------------
def _check_api_listed(app):
    """Warn (an error under -W) about public names missing from api.rst.

    Every name in ``skalign.__all__`` and every callable in
    ``skalign.metrics.__all__`` must appear in api.rst, so that a new estimator or
    function cannot ship undocumented.
    """
    from sphinx.util import logging

    import skalign.metrics

    logger = logging.getLogger("skalign.api")
    text = (HERE / "api.rst").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\s+(?:[\w.]+\.)?(\w+)\s*$", text, flags=re.MULTILINE))
    public = {n for n in skalign.__all__
              if n != "__version__" and not inspect.ismodule(getattr(skalign, n, None))}
    public |= {n for n in skalign.metrics.__all__ if callable(getattr(skalign.metrics, n, None))}
    for name in sorted(public - listed):
        logger.warning("public name %r is not listed in doc/api.rst", name, location="api")


_CITATION = re.compile(r"\[(\w+)\]_")
_CITATION_TARGET = re.compile(r"^\s*\.\. \[(\w+)\]")
_SECTION_RULE = re.compile(r"^\s*-{3,}\s*$")


def _module_citations(module):
    """``{label: lines}`` of the citations in a module docstring's References section."""
    lines = inspect.cleandoc(getattr(module, "__doc__", None) or "").splitlines()
    found, label = {}, None
    for i, line in enumerate(lines):
        if i + 1 < len(lines) and _SECTION_RULE.match(lines[i + 1]) and not line.startswith(" "):
            label = None  # a new section header ends the previous entry
            continue
        match = _CITATION_TARGET.match(line)
        if match:
            label = match.group(1)
            found[label] = [line]
        elif label and (line.startswith(" ") or not line.strip()):
            found[label].append(line)
        else:
            label = None
    return {k: [x for x in v if x.strip()] for k, v in found.items()}


def _cite_module_references(app, what, name, obj, options, lines):
    """Give a docstring the module references it cites.

    skalign states a reference once, in the References section of its module's
    docstring, and its functions cite it as ``[1]_``. A function's page does not
    show the module docstring, so the cited entries are appended to the
    function's own References section here (numpydoc then renders and renames
    them as usual). Citations in the first paragraph are dropped from it, since
    that paragraph is also the one-line summary of the API tables, which have no
    place for the references.
    """
    text = "\n".join(lines)
    missing = [c for c in dict.fromkeys(_CITATION.findall(text))
               if c not in {m.group(1) for m in map(_CITATION_TARGET.match, lines) if m}]
    if not missing:
        return
    # an estimator cites the references of the core module it wraps
    modname = getattr(obj, "__module__", None) or ""
    available = {}
    for candidate in (modname, modname.replace(".estimators.", ".")):
        if candidate in sys.modules:
            available = {**_module_citations(sys.modules[candidate]), **available}
    entries = [line for c in missing for line in available.get(c, [])]
    end = next((i for i, line in enumerate(lines) if not line.strip()), len(lines))
    lines[:end] = [re.sub(r"\s*\[\w+\]_", "", line).rstrip() for line in lines[:end]]
    if not entries:
        return
    headers = [i for i in range(len(lines) - 1) if _SECTION_RULE.match(lines[i + 1]) and lines[i].strip()]
    titles = {lines[i].strip(): i for i in headers}
    if "References" in titles:
        after = [i for i in headers if i > titles["References"]]
        at = after[0] if after else len(lines)
        block = entries + [""]
    else:
        later = [titles[t] for t in ("Examples",) if t in titles]
        at = later[0] if later else len(lines)
        block = ["References", "----------"] + entries + [""]
    if at > 0 and lines[at - 1].strip():
        block = [""] + block
    lines[at:at] = block


def setup(app):
    app.connect("builder-inited", _check_api_listed)
    # before numpydoc (priority 500), which parses the sections
    app.connect("autodoc-process-docstring", _cite_module_references, priority=400)
