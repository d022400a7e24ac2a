"""Peer for src/eval/text/vader/: the Python `vaderSentiment` package's own answers.

stdin:  ["text", ...]
stdout: {"vaderSentiment": "3.3.2", "python": "3.11.x",
         "results": [{"neg": ..., "neu": ..., "pos": ..., "compound": ...}, ...]}
(json.dumps writes floats with repr, so the numbers arrive bit for bit.)
"""
import json
import platform
import sys
from importlib.metadata import version

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

analyzer = SentimentIntensityAnalyzer()
texts = json.load(sys.stdin)
json.dump(
    {
        "vaderSentiment": version("vaderSentiment"),
        "python": platform.python_version(),
        "results": [analyzer.polarity_scores(text) for text in texts],
    },
    sys.stdout,
)
