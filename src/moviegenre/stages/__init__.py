"""DVC stage bodies: each reads its inputs, calls the package, writes its outputs."""
