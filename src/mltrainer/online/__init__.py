"""Online learning over live bars: predict on each bar, learn only from matured labels.

A :class:`StreamProcessor` takes one bar at a time (:meth:`~StreamProcessor.process`):
it computes the bar's features from a bounded history (equal to the batch features),
predicts, and keeps the prediction pending until its label's end time ``t1`` has passed;
only then is the label computed from bars that exist, scored (prequential), buffered
(:class:`RingBuffer`) and learnt by the updater. A drift alarm (ADWIN on the loss) refits
a candidate on the buffer, which replaces the running model only when it beats it by more
than a noise band, and is saved as a new registry version whose parent is the running one.
:func:`run_stream` drives a processor over a :class:`ReplaySource` or a
:class:`RedisStreamSource`, publishes predictions (:class:`RedisStreamSink`) and checkpoints
everything (model, buffer, pending set, offset) so that a killed run resumes exactly.

Examples
--------
>>> from mltrainer.online import StreamProcessor, replay
>>> from mltrainer.registry import load_model
>>> from mltrainer.data import load_bars
>>> processor = StreamProcessor(load_model("sp500-direction"))  # doctest: +SKIP
>>> result = replay(processor, load_bars("sp500"), start="2015-01-01")  # doctest: +SKIP
>>> result.metrics["prequential.log_loss"]  # doctest: +SKIP
"""

from ._boosters import LightGBMContinue, LightGBMRefit, XGBoostContinue
from ._checkpoint import decode_checkpoint, encode_checkpoint
from ._linear import LinearPredictor, LinearSGD
from ._predictor import fast_predictor
from ._prequential import Prequential
from ._processor import Prediction, StreamProcessor, parse_update
from ._refit import RefitDecision, RefitPolicy, noise_band
from ._replay import replay
from ._report import write_stream_report
from ._ring import RingBuffer
from ._river import RiverUpdater
from ._runner import StreamResult, run_stream
from ._sinks import RedisStreamSink
from ._sources import Message, RedisStreamSource, ReplaySource
from ._trees import FlatTrees
from ._updaters import NoUpdate, PartialFit, Updater, make_updater

__all__ = [
    "FlatTrees",
    "LightGBMContinue",
    "LightGBMRefit",
    "LinearPredictor",
    "LinearSGD",
    "Message",
    "NoUpdate",
    "PartialFit",
    "Prediction",
    "Prequential",
    "RedisStreamSink",
    "RedisStreamSource",
    "RefitDecision",
    "RefitPolicy",
    "ReplaySource",
    "RingBuffer",
    "RiverUpdater",
    "StreamProcessor",
    "StreamResult",
    "Updater",
    "XGBoostContinue",
    "decode_checkpoint",
    "encode_checkpoint",
    "fast_predictor",
    "make_updater",
    "noise_band",
    "parse_update",
    "replay",
    "run_stream",
    "write_stream_report",
]
