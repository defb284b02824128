#!/usr/bin/env python3
"""Ridgeline from Python through ctypes: extract, enrol, identify, remove.

    RIDGELINE_LIB=target/release/libridgeline.so \
        python3 ffi/examples/ridgeline.py ../shared/datasets/fvc2002/DB1_B /tmp/gallery

A thin, complete wrapper: every call's status is checked and turned into an exception that
carries rl_last_error_message().
"""
import ctypes
import os
import sys

RL_OK = 0
RL_ERR_NOT_FOUND = 4
RL_OPEN_READ_ONLY, RL_OPEN_WRITE, RL_OPEN_CREATE = 1, 2, 4
RL_FORMAT_ISO19794_2_2005 = 1


class Candidate(ctypes.Structure):
    _fields_ = [("id", ctypes.c_char * 65), ("finger", ctypes.c_uint8), ("score", ctypes.c_double)]


def load(path):
    lib = ctypes.CDLL(path)
    p = ctypes.c_void_p
    lib.rl_version.restype = ctypes.c_char_p
    lib.rl_last_error_message.restype = ctypes.c_char_p
    signatures = {
        "rl_extract_from_file": [ctypes.c_char_p, ctypes.POINTER(p)],
        "rl_template_serialize": [p, ctypes.c_int32, ctypes.POINTER(ctypes.POINTER(ctypes.c_uint8)),
                                  ctypes.POINTER(ctypes.c_size_t)],
        "rl_template_deserialize": [ctypes.POINTER(ctypes.c_uint8), ctypes.c_size_t, ctypes.POINTER(p)],
        "rl_template_minutiae_count": [p, ctypes.POINTER(ctypes.c_uint32)],
        "rl_compare": [p, p, ctypes.POINTER(ctypes.c_double)],
        "rl_threshold_for_fmr": [ctypes.c_double, ctypes.POINTER(ctypes.c_double)],
        "rl_gallery_open": [ctypes.c_char_p, ctypes.c_uint32, ctypes.POINTER(p)],
        "rl_gallery_enroll": [p, ctypes.c_char_p, ctypes.c_uint8, p],
        "rl_gallery_remove": [p, ctypes.c_char_p],
        "rl_gallery_identify": [p, p, ctypes.c_uint32, ctypes.POINTER(ctypes.POINTER(Candidate)),
                                ctypes.POINTER(ctypes.c_size_t)],
        "rl_gallery_count": [p, ctypes.POINTER(ctypes.c_uint64)],
    }
    for name, args in signatures.items():
        fn = getattr(lib, name)
        fn.argtypes = args
        fn.restype = ctypes.c_int32
    lib.rl_buffer_free.argtypes = [ctypes.POINTER(ctypes.c_uint8), ctypes.c_size_t]
    lib.rl_buffer_free.restype = None
    lib.rl_template_free.argtypes = [p]
    lib.rl_template_free.restype = None
    lib.rl_candidates_free.argtypes = [ctypes.POINTER(Candidate), ctypes.c_size_t]
    lib.rl_candidates_free.restype = None
    lib.rl_gallery_close.argtypes = [p]
    lib.rl_gallery_close.restype = None
    return lib


class RidgelineError(Exception):
    def __init__(self, status, message):
        super().__init__(f"ridgeline error {status}: {message}")
        self.status = status


class Ridgeline:
    def __init__(self, path):
        self.lib = load(path)

    def check(self, status):
        if status != RL_OK:
            raise RidgelineError(status, self.lib.rl_last_error_message().decode())

    def extract(self, path):
        t = ctypes.c_void_p()
        self.check(self.lib.rl_extract_from_file(path.encode(), ctypes.byref(t)))
        return t

    def to_iso(self, t):
        buf, size = ctypes.POINTER(ctypes.c_uint8)(), ctypes.c_size_t()
        self.check(self.lib.rl_template_serialize(t, RL_FORMAT_ISO19794_2_2005, ctypes.byref(buf),
                                                  ctypes.byref(size)))
        data = ctypes.string_at(buf, size.value)
        self.lib.rl_buffer_free(buf, size)
        return data

    def from_bytes(self, data):
        t = ctypes.c_void_p()
        array = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
        self.check(self.lib.rl_template_deserialize(array, len(data), ctypes.byref(t)))
        return t

    def identify(self, gallery, probe, top_k=3):
        out, count = ctypes.POINTER(Candidate)(), ctypes.c_size_t()
        self.check(self.lib.rl_gallery_identify(gallery, probe, top_k, ctypes.byref(out), ctypes.byref(count)))
        result = [(out[i].id.decode(), out[i].finger, out[i].score) for i in range(count.value)]
        self.lib.rl_candidates_free(out, count)
        return result


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    dataset, gallery_dir = sys.argv[1], sys.argv[2]
    rl = Ridgeline(os.environ.get("RIDGELINE_LIB", "libridgeline.so"))
    print("ridgeline", rl.lib.rl_version().decode())
    threshold = ctypes.c_double()
    rl.check(rl.lib.rl_threshold_for_fmr(1e-4, ctypes.byref(threshold)))

    gallery = ctypes.c_void_p()
    rl.check(rl.lib.rl_gallery_open(gallery_dir.encode(), RL_OPEN_WRITE | RL_OPEN_CREATE, ctypes.byref(gallery)))
    for finger in range(101, 104):
        t = rl.extract(f"{dataset}/{finger}_1.tif")
        rl.check(rl.lib.rl_gallery_enroll(gallery, f"person-{finger}".encode(), 1, t))
        rl.lib.rl_template_free(t)

    probe = rl.extract(f"{dataset}/102_3.tif")
    probe_iso = rl.from_bytes(rl.to_iso(probe))
    candidates = rl.identify(gallery, probe_iso)
    print("candidates:", candidates)
    assert candidates and candidates[0][0] == "person-102" and candidates[0][2] >= threshold.value, candidates

    rl.check(rl.lib.rl_gallery_remove(gallery, b"person-102"))
    try:
        rl.check(rl.lib.rl_gallery_remove(gallery, b"person-102"))
        raise AssertionError("second removal should fail")
    except RidgelineError as e:
        assert e.status == RL_ERR_NOT_FOUND
    after = rl.identify(gallery, probe_iso)
    assert not after or after[0][0] != "person-102" or after[0][2] < threshold.value, after

    count = ctypes.c_uint64()
    rl.check(rl.lib.rl_gallery_count(gallery, ctypes.byref(count)))
    assert count.value == 2, count.value
    for t in (probe, probe_iso):
        rl.lib.rl_template_free(t)
    rl.lib.rl_gallery_close(gallery)
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
