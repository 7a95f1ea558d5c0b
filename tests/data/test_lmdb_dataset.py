import io
import pickle

import lmdb
import numpy as np
import pytest
import torch
from PIL import Image

from duguang_ocr.data.lmdb import close_env, write_lmdb
from duguang_ocr.data.lmdb_dataset import LmdbDataset, iter_labels, open_dataset
from tests.helpers import render


def png(text: str, mode: str = "RGB") -> bytes:
    buf = io.BytesIO()
    render(text, mode=mode).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def lmdb_path(tmp_path):
    labels = ["hello", "ＯＣＲ识别，２０２４", "读光\u3000文字", "gray"]
    write_lmdb([(png(t, "L" if t == "gray" else "RGB"), t) for t in labels], tmp_path / "d")
    yield tmp_path / "d"
    close_env(tmp_path / "d")


def raw_lmdb(path, records: dict[bytes, bytes]):
    env = lmdb.open(str(path), map_size=1 << 24)
    with env.begin(write=True) as txn:
        for k, v in records.items():
            txn.put(k, v)
    env.close()
    return path


def test_items_are_rgb_arrays_and_labels(lmdb_path):
    ds = LmdbDataset(lmdb_path)
    assert len(ds) == 4
    img, text = ds[0]
    assert text == "hello"
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3 and img.shape[0] == 32
    gray, _ = ds[3]
    assert gray.shape[2] == 3  # grayscale PNGs come back as RGB
    assert ds[-1][1] == "gray"
    with pytest.raises(IndexError):
        ds[4]


def test_fullwidth_labels_fold_to_ascii_and_chinese_survives(lmdb_path):
    ds = LmdbDataset(lmdb_path)
    assert ds[1][1] == "OCR识别,2024"
    assert ds[2][1] == "读光 文字"
    raw = LmdbDataset(lmdb_path, normalize_width=False)
    assert raw[1][1] == "ＯＣＲ识别，２０２４"
    assert list(ds.labels()) == ["hello", "OCR识别,2024", "读光 文字", "gray"]


def test_corrupt_and_missing_samples_are_none_and_counted(tmp_path):
    path = raw_lmdb(tmp_path / "bad", {
        b"num-samples": b"4",
        b"image-000000001": png("ok"), b"label-000000001": b"ok",
        b"image-000000002": b"not an image", b"label-000000002": b"broken",
        b"label-000000003": b"no image",
        b"image-000000004": png("x"), b"label-000000004": b"\xff\xfe",
    })
    ds = LmdbDataset(path)
    assert ds[0][1] == "ok"
    assert [ds[i] for i in (1, 2, 3)] == [None, None, None]
    assert ds.num_bad == 3
    assert list(ds.labels()) == ["ok", "broken", "no image"]  # not UTF-8: left out
    close_env(path)


def test_missing_count_and_non_lmdb_are_clear_errors(tmp_path):
    path = raw_lmdb(tmp_path / "nocount", {b"image-000000001": png("a"), b"label-000000001": b"a"})
    with pytest.raises(ValueError, match="num-samples"):
        LmdbDataset(path)
    lmdb.open(str(path), readonly=True, lock=False).close()  # the failed reader let go of it
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="not an LMDB data set"):
        LmdbDataset(tmp_path / "empty")
    with pytest.raises(FileNotFoundError):
        LmdbDataset(tmp_path / "absent")


def test_dataloader_workers_and_pickling(lmdb_path):
    ds = LmdbDataset(lmdb_path)
    ds[0]  # the parent holds the environment open before the workers fork
    loader = torch.utils.data.DataLoader(ds, batch_size=2, num_workers=2,
                                         collate_fn=lambda b: [x[1] for x in b if x])
    assert sorted(t for batch in loader for t in batch) == sorted(iter_labels(ds))
    clone = pickle.loads(pickle.dumps(ds))
    assert clone[0][1] == "hello"


def test_datasets_share_one_handle_and_close_releases_it(lmdb_path):
    a, b = LmdbDataset(lmdb_path), LmdbDataset(lmdb_path)  # LMDB forbids a second open
    assert a[0][1] == b[0][1] == "hello"
    a.close()
    env = lmdb.open(str(lmdb_path), readonly=True, lock=False)  # others may open it now
    env.close()
    assert b[1][1] == "OCR识别,2024"  # reopened lazily


def test_open_dataset_by_content(lmdb_path, tmp_path):
    assert isinstance(open_dataset(lmdb_path), LmdbDataset)
    folder = tmp_path / "folder"
    folder.mkdir()
    Image.open(io.BytesIO(png("hi"))).save(folder / "a.png")
    (folder / "labels.tsv").write_text("a.png\tｈｉ\n", encoding="utf-8")
    fds = open_dataset(folder)
    assert fds[0][1] == "hi" and list(iter_labels(fds)) == ["hi"]
    assert open_dataset(folder / "labels.tsv")[0][1] == "hi"
    with pytest.raises(FileNotFoundError, match="neither"):
        open_dataset(tmp_path / "nothing")


def test_every_reader_shares_the_open_handle(lmdb_path):
    """With a data set open (as in training), evaluation, counting and copying the same LMDB
    used to raise lmdb.Error 'already open in this process'."""
    from duguang_ocr.data.lmdb import read_count
    from duguang_ocr.data.make_lmdb import make_lmdb
    from duguang_ocr.evaluate import iter_labelled

    ds = LmdbDataset(lmdb_path, normalize_width=False)
    assert ds[0][1] == "hello"
    assert [label for _, _, label in iter_labelled(lmdb_path)] == list(ds.labels())
    assert read_count(lmdb_path) == len(ds) == 4
    copy = make_lmdb(lmdb_path.parent / "copy", source_lmdb=lmdb_path, progress=False)
    assert copy.written == 4 and ds[3][1] == "gray"  # the data set still reads
    close_env(lmdb_path.parent / "copy")


def test_a_data_set_rewritten_at_the_same_path_is_read_afresh(lmdb_path):
    from duguang_ocr.data.lmdb import read_count

    assert read_count(lmdb_path) == 4  # leaves this process's handle open
    write_lmdb([(png("new"), "new")], lmdb_path, overwrite=True)
    assert read_count(lmdb_path) == 1
    assert LmdbDataset(lmdb_path)[0][1] == "new"
    # Replaced behind this process's back (another process): still the new file, not a stale
    # handle on the old one.
    other = lmdb_path.parent / "other"
    write_lmdb([(png("a"), "a"), (png("b"), "b")], other)
    import shutil

    shutil.rmtree(lmdb_path)
    shutil.copytree(other, lmdb_path)
    assert read_count(lmdb_path) == 2 and LmdbDataset(lmdb_path)[1][1] == "b"
    close_env(other)


def test_new_data_under_an_old_lock_file_is_opened_not_refused_as_already_open(lmdb_path):
    """py-lmdb refuses an environment whose lock.mdb is one a live handle was opened beside.
    A data set copied over an old one can get the old lock file's inode number back (seen
    as a flaky failure above); keeping lock.mdb and swapping data.mdb provokes it every
    time. The stale handle on the replaced file gives way; the new data is read."""
    import os

    from duguang_ocr.data.lmdb import open_env, read_count

    open_env(lmdb_path)  # a data set holds a handle on the current files
    assert (lmdb_path / "lock.mdb").is_file()
    other = lmdb_path.parent / "other"
    write_lmdb([(png("a"), "a"), (png("b"), "b")], other)
    os.replace(other / "data.mdb", lmdb_path / "data.mdb")  # same lock.mdb, new data file
    assert read_count(lmdb_path) == 2
    assert LmdbDataset(lmdb_path)[1][1] == "b"
