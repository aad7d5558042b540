"""Classical baseline: log band power per channel.

The level a foundation-model embedding has to beat: the log of the mean
power spectral density in a few canonical frequency bands, per channel,
estimated with Welch's method through MNE (:func:`mne.time_frequency.psd_array_welch`).
Followed by ``StandardScaler`` and ``LogisticRegression``, this is the
reference point of ``skeegfm benchmark``.
"""

from __future__ import annotations

import numpy as np
from mne.time_frequency import psd_array_welch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

__all__ = ["DEFAULT_BANDS", "LogBandPower"]

#: Default bands, Hz (lower edge inclusive, upper edge exclusive).
DEFAULT_BANDS = {"theta": (4.0, 8.0), "alpha": (8.0, 13.0), "beta": (13.0, 30.0)}

_CHUNK_BYTES = 8e6


def _check_bands(bands):
    """Return ``bands`` as a list of ``(name, low, high)``, validated."""
    if bands is None:
        bands = DEFAULT_BANDS
    if isinstance(bands, dict):
        items = list(bands.items())
    else:
        try:
            items = [(f"{lo:g}-{hi:g}Hz", (lo, hi)) for lo, hi in bands]
        except (TypeError, ValueError):
            raise TypeError(
                "bands must be a dict {name: (low_hz, high_hz)} or a list of (low_hz, high_hz) "
                f"pairs; got {bands!r}."
            ) from None
    if not items:
        raise ValueError("bands is empty; give at least one (low_hz, high_hz) band.")
    out = []
    for name, edges in items:
        low, high = (float(e) for e in edges)
        if not 0 <= low < high:
            raise ValueError(f"Band {name!r} = ({low}, {high}) Hz: need 0 <= low < high.")
        out.append((str(name), low, high))
    return out


def _as_epochs_array(X, sfreq):
    """Turn ``X`` into ``(data, sfreq, ch_names)`` through the input adapter.

    Arrays get placeholder channel names: the baseline does not match
    channels by name, it only needs the same channels in ``fit`` and
    ``transform``.
    """
    from ._inputs import read_eeg

    if _is_epochs_like(X):
        eeg = read_eeg(X)
    else:
        X = np.asarray(X)
        names = [f"ch{i}" for i in range(X.shape[1])] if X.ndim == 3 else None
        eeg = read_eeg(X, sfreq=sfreq, ch_names=names)
    keep = [i for i, kind in enumerate(eeg.ch_types) if kind == "eeg"]
    if not keep:
        raise ValueError(
            f"X has no EEG channel (channel types: {sorted(set(eeg.ch_types))}); "
            "LogBandPower uses EEG channels only."
        )
    data = eeg.data if len(keep) == len(eeg.ch_types) else eeg.data[:, keep]
    return data, float(eeg.sfreq), [eeg.ch_names[i] for i in keep]


def _is_epochs_like(X):
    """True for ``mne.Epochs`` and for lists of them (sklearn's CV slices)."""
    if hasattr(X, "info"):
        return True
    return isinstance(X, (list, tuple)) and len(X) > 0 and hasattr(X[0], "info")


class LogBandPower(TransformerMixin, BaseEstimator):
    """Log band power per channel, the classical EEG baseline.

    For every epoch and channel, the power spectral density is estimated with
    Welch's method (:func:`mne.time_frequency.psd_array_welch`, Hann windows
    of ``n_per_seg`` samples with 50 % overlap), averaged within each band and
    log10-transformed. Only EEG channels are used (channels of other MNE
    types, such as EOG or ECG, are left out). Features are ordered channel-major:
    ``[ch0_band0, ch0_band1, ..., ch1_band0, ...]``.

    Parameters
    ----------
    sfreq : float | None
        Sampling rate in Hz; required for arrays, ignored for ``mne.Epochs``
        (their ``info["sfreq"]`` is used).
    bands : dict | list of tuple | None
        Frequency bands in Hz, as ``{name: (low, high)}`` or a list of
        ``(low, high)``. ``None`` means :data:`DEFAULT_BANDS`
        (theta 4-8, alpha 8-13, beta 13-30 Hz).
    window_seconds : float
        Length of a Welch segment in seconds (clipped to the epoch length).
        2 s gives a 0.5 Hz resolution.

    Attributes
    ----------
    sfreq_in_ : float
        Sampling rate seen in ``fit``, Hz.
    n_chans_in_ : int
        Number of channels seen in ``fit``.
    ch_names_in_ : list of str
        Channel names seen in ``fit`` (``ch0``... for arrays).
    bands_ : list of tuple
        The bands used, as ``(name, low_hz, high_hz)``.

    See Also
    --------
    skeegfm.EEGPTEmbedder : a foundation-model embedding to compare with.

    Notes
    -----
    Arrays are in volts (MNE's convention); power is in V^2/Hz before the log.
    The log of a band whose power is exactly zero (a flat channel) is clipped
    to the log of the smallest positive float instead of ``-inf``.

    References
    ----------
    .. [1] Welch, P. (1967). The use of fast Fourier transform for the
           estimation of power spectra. IEEE Transactions on Audio and
           Electroacoustics 15(2), 70-73.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).standard_normal((4, 2, 500)) * 1e-5
    >>> LogBandPower(sfreq=250.0).fit_transform(X).shape
    (4, 6)
    """

    def __init__(self, sfreq=None, bands=None, window_seconds=2.0):
        self.sfreq = sfreq
        self.bands = bands
        self.window_seconds = window_seconds

    def fit(self, X, y=None):
        """Record the sampling rate, channels and bands.

        Parameters
        ----------
        X : mne.Epochs | list of mne.Epochs | ndarray of shape (n_epochs, n_chans, n_times)
            EEG epochs; arrays in volts with ``sfreq`` set.
        y : None
            Ignored.

        Returns
        -------
        self : LogBandPower

        Raises
        ------
        ValueError
            If ``X`` is not 3-D, is empty or has non-finite values, if
            ``sfreq`` is missing for arrays, or if a band's upper edge is
            above the Nyquist frequency.
        """
        if not float(self.window_seconds) > 0:
            raise ValueError(f"window_seconds must be > 0; got {self.window_seconds!r}.")
        data, sfreq, ch_names = _as_epochs_array(X, self.sfreq)
        bands = _check_bands(self.bands)
        too_high = [name for name, _, high in bands if high > sfreq / 2]
        if too_high:
            raise ValueError(
                f"Bands {too_high} reach above the Nyquist frequency ({sfreq / 2:g} Hz) of "
                f"data sampled at {sfreq:g} Hz; lower their upper edges."
            )
        self.sfreq_in_ = sfreq
        self.n_chans_in_ = data.shape[1]
        self.ch_names_in_ = ch_names
        self.bands_ = bands
        return self

    def transform(self, X):
        """Compute log band powers.

        Parameters
        ----------
        X : mne.Epochs | list of mne.Epochs | ndarray of shape (n_epochs, n_chans, n_times)
            EEG epochs with the channels and sampling rate seen in ``fit``.

        Returns
        -------
        X_new : ndarray of shape (n_epochs, n_chans * n_bands)
            log10 of the mean PSD (V^2/Hz) per channel and band, float64.

        Raises
        ------
        ValueError
            If the number of channels or the sampling rate differs from ``fit``.
        """
        check_is_fitted(self)
        data, sfreq, _ = _as_epochs_array(X, self.sfreq)
        if data.shape[1] != self.n_chans_in_:
            raise ValueError(
                f"X has {data.shape[1]} channels but LogBandPower was fitted on "
                f"{self.n_chans_in_}; pass the same channels."
            )
        if sfreq != self.sfreq_in_:
            raise ValueError(
                f"X is sampled at {sfreq:g} Hz but LogBandPower was fitted at "
                f"{self.sfreq_in_:g} Hz; resample first."
            )
        n_times = data.shape[-1]
        n_per_seg = int(min(n_times, max(8, round(float(self.window_seconds) * sfreq))))
        fmin = min(low for _, low, _ in self.bands_)
        fmax = max(high for _, _, high in self.bands_)
        # MNE runs one FFT call per channel and epoch above 10 MB of input;
        # chunks of epochs below that size keep the computation vectorised.
        per_chunk = max(1, int(_CHUNK_BYTES // max(1, data[:1].nbytes)))
        chunks = []
        for start in range(0, len(data), per_chunk):
            psd, freqs = psd_array_welch(
                data[start : start + per_chunk],
                sfreq,
                fmin=fmin,
                fmax=fmax,
                n_fft=n_per_seg,
                n_per_seg=n_per_seg,
                n_overlap=n_per_seg // 2,
                average="mean",
                verbose=False,
            )
            chunks.append(psd)
        psd = np.concatenate(chunks, axis=0)
        powers = []
        for name, low, high in self.bands_:
            in_band = (freqs >= low) & (freqs < high)
            if not in_band.any():
                raise ValueError(
                    f"Band {name!r} ({low:g}-{high:g} Hz) contains no frequency bin at a "
                    f"{freqs[1] - freqs[0] if len(freqs) > 1 else sfreq / n_per_seg:g} Hz "
                    "resolution; widen the band or use longer epochs / window_seconds."
                )
            powers.append(psd[..., in_band].mean(axis=-1))
        power = np.stack(powers, axis=-1)  # (n_epochs, n_chans, n_bands)
        power = np.maximum(power, np.finfo(np.float64).tiny)
        return np.log10(power).reshape(len(power), -1)

    def get_feature_names_out(self, input_features=None):
        """Feature names ``"<channel>_<band>"``, channel-major.

        Parameters
        ----------
        input_features : None
            Ignored.

        Returns
        -------
        names : ndarray of str, shape (n_chans * n_bands,)
        """
        check_is_fitted(self)
        return np.asarray(
            [f"{ch}_{name}" for ch in self.ch_names_in_ for name, _, _ in self.bands_],
            dtype=object,
        )
