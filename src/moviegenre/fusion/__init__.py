"""Late fusion of audio features and visual-model probabilities with per-genre SVMs.

svm.py: the SVMs; fit.py: which rows they learn from under a protocol; policy.py: the
scores of a trailer without sound. The package itself imports nothing: policy.py loads
without scikit-learn, for `moviegenre predict` and the bundle.
"""
