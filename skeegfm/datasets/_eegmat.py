"""EEGMAT development subset: rest vs mental arithmetic, 8 subjects."""

from __future__ import annotations

from importlib.resources import as_file, files

import mne

__all__ = ["load_eegmat"]

_FNAME = "eegmat_dev-epo.fif"


def load_eegmat(*, return_X_y=False, verbose=None):
    """Load the bundled EEGMAT epochs (rest vs mental arithmetic, 8 subjects).

    Real recordings of subjects 00-07 of PhysioNet's "EEG During Mental
    Arithmetic Tasks" [1]_ [2]_: per subject, 12 windows of 4 s from the rest
    recording (label 0) and 12 from the serial-subtraction recording
    (label 1), 192 epochs in all. 19 scalp channels with modern 10-20 names
    (Fp1 Fp2 F7 F3 Fz F4 F8 T7 C3 Cz C4 T8 P7 P3 Pz P4 P8 O1 O2) and the
    ``standard_1020`` montage, linked-ear reference, resampled from 500 Hz to
    250 Hz (1000 samples per epoch), volts. The recordings were ICA-cleaned
    and band-limited (about 0.5-45 Hz) by their authors.

    Windows of one subject come from one rest and one task recording, so
    score across subjects: ``GroupKFold`` or ``LeaveOneGroupOut`` with the
    ``groups`` returned here.

    Parameters
    ----------
    return_X_y : bool
        If True, return ``(epochs, y, groups)`` instead of the Epochs alone.
    verbose : bool | str | int | None
        MNE verbosity while reading the file.

    Returns
    -------
    epochs : mne.Epochs
        Preloaded, 192 epochs x 19 channels x 1000 samples at 250 Hz, in
        volts, ``event_id = {"rest": 1, "arithmetic": 2}``. ``epochs.metadata``
        (a DataFrame, one row per epoch) has the columns ``subject``
        (``"Subject00"``...), ``recording`` (EDF file name), ``label`` (0 rest,
        1 arithmetic), ``condition`` (``"rest"``/``"arithmetic"``),
        ``onset_s`` (window start in the recording, s), ``count_quality``
        (1 good counter, 0 bad), ``age`` and ``gender``.
    y : ndarray of shape (192,), int64
        Only with ``return_X_y=True``: ``epochs.metadata["label"]``, 0 rest,
        1 mental arithmetic.
    groups : ndarray of shape (192,), object (str)
        Only with ``return_X_y=True``: ``epochs.metadata["subject"]``, for
        subject-wise cross-validation.

    Notes
    -----
    Licence: Open Data Commons Attribution License v1.0 (ODC-By 1.0). The
    data are redistributed with the attribution below; cite both references
    when you use them.

    References
    ----------
    .. [1] Zyma, I., Tukaev, S., Seleznov, I., Kiyono, K., Popov, A.,
           Chernykh, M., & Shpenkov, O. (2019). Electroencephalograms during
           mental arithmetic task performance. Data, 4(1), 14.
    .. [2] Goldberger, A. L. et al. (2000). PhysioBank, PhysioToolkit, and
           PhysioNet: Components of a new research resource for complex
           physiologic signals. Circulation, 101(23), e215-e220.

    Examples
    --------
    >>> from skeegfm.datasets import load_eegmat
    >>> epochs, y, groups = load_eegmat(return_X_y=True, verbose=False)
    >>> epochs.get_data().shape, y.shape, groups[0]
    ((192, 19, 1000), (192,), 'Subject00')
    """
    with as_file(files(__package__) / "data" / _FNAME) as path:
        epochs = mne.read_epochs(path, preload=True, verbose=verbose)
    if not return_X_y:
        return epochs
    y = epochs.metadata["label"].to_numpy(dtype="int64")
    groups = epochs.metadata["subject"].to_numpy(dtype=object)
    return epochs, y, groups
