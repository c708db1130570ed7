"""Where a tree given as ``--baseline DIR`` keeps its pynng_core."""
import os


def package_parent(tree):
    """The folder to put on sys.path to import ``tree``'s pynng_core: its
    src/, or, in trees from before the src layout, the tree itself."""
    tree = os.path.abspath(tree)
    for folder in (os.path.join(tree, "src"), tree):
        if os.path.isdir(os.path.join(folder, "pynng_core")):
            return folder
    raise SystemExit("--baseline %s: no pynng_core in it or in its src/" % tree)
