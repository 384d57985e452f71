"""Build the offline page template of `dvc plots show` / `dvc plots diff`.

DVC's default page loads vega, vega-lite and vega-embed from a CDN, so without internet
every chart is blank. ``plots_page/dvc_plots.html`` (named in ``.dvc/config`` as
``plots.html_template``) carries them inline instead. It is generated from
``plots_page/page.html.in`` with the JavaScript bundle that vl-convert-python (a pinned dev
dependency) builds offline, and committed, so a fresh clone draws charts with no setup:

    python -m moviegenre.evaluation.plots_page

``tests/test_offline_charts.py`` checks the committed page is what this builds.
"""

from __future__ import annotations

import sys
from pathlib import Path

from moviegenre.atomic import write_text_atomic

REPO = Path(__file__).resolve().parents[3]
SOURCE = REPO / "plots_page" / "page.html.in"
PAGE = REPO / "plots_page" / "dvc_plots.html"
# DVC 3 writes Vega-Lite v5 specs: the newest v5 that vl-convert bundles.
VEGA_LITE_VERSION = "5.21"
# DVC fills these in its template by plain text replacement (dvc_render.html.HTML.embed).
DVC_PLACEHOLDERS = ("{plot_divs}", "{scripts}", "{refresh_tag}")


def build_page(source: Path = SOURCE) -> str:
    """The template text: ``source`` with the bundle and its versions filled in."""
    from importlib.metadata import version

    import vl_convert

    bundle = vl_convert.javascript_bundle(vl_version=VEGA_LITE_VERSION)
    if "</script" in bundle.lower() or any(p in bundle for p in DVC_PLACEHOLDERS):
        raise ValueError("the vega bundle cannot be inlined: it contains </script or {...}")
    filled = {
        "@VEGA@": vl_convert.get_vega_version(),
        "@VEGALITE@": VEGA_LITE_VERSION,
        "@EMBED@": vl_convert.get_vega_embed_version(),
        "@VLCONVERT@": version("vl-convert-python"),
    }
    text = source.read_text(encoding="utf-8")
    for marker, value in filled.items():
        text = text.replace(marker, value)
    return text.replace("@BUNDLE@", bundle)


def main() -> int:
    write_text_atomic(PAGE, build_page())
    print(f"wrote {PAGE.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
