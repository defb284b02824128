/*
 * Every kind of bad input through the C API: NULL pointers, garbage bytes, handles freed
 * twice, zero and huge sizes. Each call must return the documented error code and leave a
 * message; none may crash. Run under valgrind in the test suite.
 *
 * Usage: bad_input DATASET_IMAGE GALLERY_DIR
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ridgeline.h"

static int failures = 0;

#define EXPECT(call, expected)                                                              \
    do {                                                                                    \
        rl_status got_ = (call);                                                            \
        if (got_ != (expected)) {                                                           \
            fprintf(stderr, "FAIL %s:%d: %s returned %d, expected %d (%s)\n", __FILE__,     \
                    __LINE__, #call, (int)got_, (int)(expected), rl_last_error_message());  \
            failures++;                                                                     \
        } else if ((expected) != RL_OK && rl_last_error_message()[0] == '\0') {             \
            fprintf(stderr, "FAIL %s:%d: %s gave no error message\n", __FILE__, __LINE__,   \
                    #call);                                                                 \
            failures++;                                                                     \
        }                                                                                   \
    } while (0)

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s IMAGE GALLERY_DIR\n", argv[0]);
        return 2;
    }
    const char *image = argv[1];
    const char *gallery_dir = argv[2];

    rl_template *t = NULL;
    uint8_t pixels[100 * 100];
    memset(pixels, 200, sizeof pixels);
    uint8_t garbage[64];
    for (size_t i = 0; i < sizeof garbage; i++) garbage[i] = (uint8_t)(i * 37 + 11);
    double score = 0.0;
    uint8_t quality = 0;
    uint32_t count32 = 0;
    uint64_t count64 = 0;
    uint8_t *buf = NULL;
    size_t len = 0;

    /* Version and messages are always available. */
    if (rl_version() == NULL || rl_last_error_message() == NULL) failures++;

    /* Extraction. */
    EXPECT(rl_extract_from_gray(NULL, 100, 100, 500, &t), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_extract_from_gray(pixels, 100, 100, 500, NULL), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_extract_from_gray(pixels, 0, 0, 500, &t), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_extract_from_gray(pixels, 100, 100, 0, &t), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_extract_from_gray(pixels, 100000, 100000, 500, &t), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_extract_from_gray(pixels, 4294967295u, 4294967295u, 500, &t), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_extract_from_gray(pixels, 100, 100, 500, &t), RL_ERR_LOW_QUALITY); /* blank image */
    EXPECT(rl_extract_from_file(NULL, &t), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_extract_from_file("/nonexistent/finger.png", &t), RL_ERR_IO);
    EXPECT(rl_extract_from_file(argv[0], &t), RL_ERR_FORMAT); /* an executable, not an image */

    /* Deserialisation of garbage, empty and truncated bytes. */
    EXPECT(rl_template_deserialize(NULL, 10, &t), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_template_deserialize(garbage, sizeof garbage, NULL), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_template_deserialize(garbage, 0, &t), RL_ERR_FORMAT);
    EXPECT(rl_template_deserialize(garbage, sizeof garbage, &t), RL_ERR_FORMAT);
    memcpy(garbage, "FMR\0 20\0", 8); /* an ISO header cut short */
    EXPECT(rl_template_deserialize(garbage, 12, &t), RL_ERR_FORMAT);

    /* A real template to abuse. */
    rl_template *good = NULL;
    EXPECT(rl_extract_from_file(image, &good), RL_OK);
    if (good == NULL) {
        fprintf(stderr, "FAIL: no template from %s\n", image);
        return 1;
    }
    EXPECT(rl_template_serialize(good, 99, &buf, &len), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_template_serialize(good, RL_FORMAT_NATIVE, NULL, &len), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_template_serialize(good, RL_FORMAT_NATIVE, &buf, NULL), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_template_serialize(NULL, RL_FORMAT_NATIVE, &buf, &len), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_template_serialize(good, RL_FORMAT_NATIVE, &buf, &len), RL_OK);
    /* Truncated native bytes. */
    EXPECT(rl_template_deserialize(buf, len / 2, &t), RL_ERR_FORMAT);
    /* A wrong length is refused and the buffer stays live (valgrind sees the read below). */
    rl_buffer_free(buf, len + 1);
    rl_buffer_free(buf, len - 1);
    EXPECT(rl_template_deserialize(buf, len, &t), RL_OK);
    rl_template_free(t);
    t = NULL;
    rl_buffer_free(buf, len);
    rl_buffer_free(buf, len);   /* freed twice: ignored, not a crash */
    rl_buffer_free(NULL, 0);
    rl_buffer_free(garbage, 4); /* never ours: ignored */

    EXPECT(rl_template_quality(NULL, &quality), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_template_quality(good, NULL), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_template_minutiae_count(good, NULL), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_template_minutiae_count((const rl_template *)garbage, &count32), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_compare(good, NULL, &score), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_compare(good, good, NULL), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_compare(good, (const rl_template *)garbage, &score), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_compare(good, good, &score), RL_OK);
    EXPECT(rl_threshold_for_fmr(0.0, &score), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_threshold_for_fmr(1.5, &score), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_threshold_for_fmr(1e-4, NULL), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_gallery_match_threshold(NULL, 1e-4, &score), RL_ERR_INVALID_ARGUMENT);

    /* Galleries. */
    rl_gallery *g = NULL;
    EXPECT(rl_gallery_open(NULL, RL_OPEN_WRITE | RL_OPEN_CREATE, &g), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_gallery_open(gallery_dir, RL_OPEN_WRITE | RL_OPEN_CREATE, NULL), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_gallery_open(gallery_dir, 0, &g), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_gallery_open("/nonexistent/gallery", RL_OPEN_READ_ONLY, &g), RL_ERR_NOT_FOUND);
    EXPECT(rl_gallery_open(gallery_dir, RL_OPEN_WRITE | RL_OPEN_CREATE, &g), RL_OK);
    EXPECT(rl_gallery_enroll(g, NULL, 1, good), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_gallery_enroll(g, "", 1, good), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_gallery_enroll(g, "this-id-is-far-too-long-for-the-gallery-which-allows-only-64-bytes", 1, good),
           RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_gallery_enroll(g, "ok-id", 11, good), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_gallery_enroll(g, "ok-id", 1, NULL), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_gallery_enroll((rl_gallery *)garbage, "ok-id", 1, good), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_gallery_enroll(g, "ok-id", 1, good), RL_OK);
    EXPECT(rl_gallery_remove(g, "missing-id"), RL_ERR_NOT_FOUND);
    EXPECT(rl_gallery_remove(g, NULL), RL_ERR_INVALID_ARGUMENT);
    rl_candidate *cands = NULL;
    size_t ncands = 0;
    EXPECT(rl_gallery_match_threshold(g, 0.0, &score), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_gallery_match_threshold(g, 1.0, &score), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_gallery_match_threshold(g, 1e-4, NULL), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_gallery_match_threshold((rl_gallery *)garbage, 1e-4, &score), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_gallery_match_threshold(g, 1e-4, &score), RL_OK);
    EXPECT(rl_gallery_identify(g, good, 0, &cands, &ncands), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_gallery_identify(g, good, 5, NULL, &ncands), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_gallery_identify(g, good, 5, &cands, NULL), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_gallery_identify(g, NULL, 5, &cands, &ncands), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_gallery_identify(g, good, 4000000000u, &cands, &ncands), RL_OK); /* huge k: clamped */
    if (ncands != 1) {
        fprintf(stderr, "FAIL: expected 1 candidate, got %zu\n", ncands);
        failures++;
    }
    rl_candidates_free(cands, ncands + 3); /* wrong count: refused, the list stays live */
    if (ncands == 1 && strcmp(cands[0].id, "ok-id") != 0) {
        fprintf(stderr, "FAIL: candidate list changed after a refused free\n");
        failures++;
    }
    rl_candidates_free(cands, ncands);
    rl_candidates_free(cands, ncands); /* twice: ignored */

    /* A template with no minutiae (ISO 2005: header, one view of 0 minutiae, no extended
       data) is refused at enrolment as extraction refuses it. */
    uint8_t iso[30];
    memset(iso, 0, sizeof iso);
    memcpy(iso, "FMR\0 20\0", 8);
    iso[11] = 30;                 /* record length, big-endian u32 */
    iso[14] = 1; iso[15] = 44;    /* width 300 */
    iso[16] = 1; iso[17] = 44;    /* height 300 */
    iso[19] = 197; iso[21] = 197; /* 197 pixels/cm = 500 dpi */
    iso[22] = 1;                  /* one finger view */
    iso[24] = 1;                  /* right thumb; impression 0, quality 0, 0 minutiae */
    rl_template *empty = NULL;
    EXPECT(rl_template_deserialize(iso, sizeof iso, &empty), RL_OK);
    EXPECT(rl_gallery_enroll(g, "no-minutiae", 1, empty), RL_ERR_LOW_QUALITY);
    rl_template_free(empty);
    EXPECT(rl_gallery_count(NULL, &count64), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_gallery_count(g, NULL), RL_ERR_INVALID_ARGUMENT);

    /* A second writer on the same directory is refused while the first holds it. */
    rl_gallery *second = NULL;
    EXPECT(rl_gallery_open(gallery_dir, RL_OPEN_WRITE, &second), RL_ERR_BUSY);
    /* People: several prints per call. */
    rl_print prints[11];
    for (int i = 0; i < 11; i++) {
        prints[i].finger = (uint8_t)(i % 10 + 1);
        prints[i].tmpl = good;
    }
    char existing[65];
    rl_person_candidate *people = NULL;
    size_t npeople = 0;
    rl_person_decision decision;
    EXPECT(rl_gallery_enroll_person(g, "p1", NULL, 1, 0, 1e-4, existing), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_gallery_enroll_person(g, "p1", prints, 0, 0, 1e-4, existing), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_gallery_enroll_person(g, "p1", prints, 11, 0, 1e-4, existing), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_gallery_enroll_person(g, "p1", prints, 1, 0, 0.0, existing), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_gallery_enroll_person(g, "p1", prints, 1, 0x80, 1e-4, existing), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_gallery_enroll_person(NULL, "p1", prints, 1, 0, 1e-4, existing), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_gallery_enroll_person(g, NULL, prints, 1, 0, 1e-4, existing), RL_ERR_INVALID_ARGUMENT);
    /* Zero-width space and right-to-left override inside an id: refused. */
    EXPECT(rl_gallery_enroll_person(g, "p\xE2\x80\x8B" "1", prints, 1, 0, 1e-4, existing), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_gallery_enroll_person(g, "p\xE2\x80\xAE" "1", prints, 1, 0, 1e-4, existing), RL_ERR_INVALID_ARGUMENT);
    prints[1].finger = 1; /* one position twice */
    EXPECT(rl_gallery_enroll_person(g, "p1", prints, 2, 0, 1e-4, existing), RL_ERR_INVALID_ARGUMENT);
    prints[1].finger = 11;
    EXPECT(rl_gallery_enroll_person(g, "p1", prints, 2, 0, 1e-4, existing), RL_ERR_INVALID_ARGUMENT);
    prints[1].finger = 2;
    prints[1].tmpl = (rl_template *)garbage;
    EXPECT(rl_gallery_enroll_person(g, "p1", prints, 2, 0, 1e-4, existing), RL_ERR_INVALID_ARGUMENT);
    prints[1].tmpl = good;
    /* The print enrolled as "ok-id" above, again under a new id: refused, naming ok-id. */
    EXPECT(rl_gallery_enroll_person(g, "p1", prints, 1, 0, 1e-4, existing), RL_ERR_DUPLICATE);
    if (strcmp(existing, "ok-id") != 0) {
        fprintf(stderr, "FAIL: the duplicate names '%s', expected ok-id\n", existing);
        failures++;
    }
    EXPECT(rl_gallery_enroll_person(g, "p1", prints, 1, 0, 1e-4, NULL), RL_ERR_DUPLICATE);
    /* Its own id without the update flag: refused; an update of an unknown id: not found. */
    EXPECT(rl_gallery_enroll_person(g, "ok-id", prints, 1, 0, 1e-4, existing), RL_ERR_DUPLICATE);
    EXPECT(rl_gallery_enroll_person(g, "nobody", prints, 1, RL_ENROLL_UPDATE, 1e-4, existing), RL_ERR_NOT_FOUND);
    EXPECT(rl_gallery_enroll_person(g, "ok-id", prints, 1, RL_ENROLL_UPDATE, 1e-4, existing), RL_OK);
    EXPECT(rl_gallery_subject_count(g, &count64), RL_OK);
    if (count64 != 1) {
        fprintf(stderr, "FAIL: %llu subjects, expected 1\n", (unsigned long long)count64);
        failures++;
    }
    EXPECT(rl_gallery_subject_count(g, NULL), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_gallery_subject_count(NULL, &count64), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_gallery_identify_person(g, NULL, 1, 5, 1e-4, &people, &npeople, &decision), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_gallery_identify_person(g, prints, 0, 5, 1e-4, &people, &npeople, &decision), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_gallery_identify_person(g, prints, 11, 5, 1e-4, &people, &npeople, &decision), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_gallery_identify_person(g, prints, 1, 0, 1e-4, &people, &npeople, &decision), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_gallery_identify_person(g, prints, 1, 5, 1.5, &people, &npeople, &decision), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_gallery_identify_person(g, prints, 1, 5, 1e-4, NULL, &npeople, &decision), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_gallery_identify_person(g, prints, 1, 5, 1e-4, &people, NULL, &decision), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_gallery_identify_person(g, prints, 1, 5, 1e-4, &people, &npeople, NULL), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_gallery_identify_person((rl_gallery *)garbage, prints, 1, 5, 1e-4, &people, &npeople, &decision), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_gallery_identify_person(g, prints, 2, 4000000000u, 1e-4, &people, &npeople, &decision), RL_OK);
    if (npeople != 1 || decision.matched != 0 || strcmp(people[0].id, "ok-id") != 0 || people[0].finger_count != 1) {
        fprintf(stderr, "FAIL: identify_person found %zu, matched %d\n", npeople, (int)decision.matched);
        failures++;
    }
    rl_person_candidates_free(people, npeople);
    rl_person_candidates_free(people, npeople); /* freed twice: ignored */
    rl_person_candidates_free(NULL, 0);

    /* Read-only handles cannot write. */
    rl_gallery *reader_only = NULL;
    EXPECT(rl_gallery_open(gallery_dir, RL_OPEN_READ_ONLY, &reader_only), RL_OK);
    EXPECT(rl_gallery_enroll(reader_only, "x", 1, good), RL_ERR_READ_ONLY);
    EXPECT(rl_gallery_enroll_person(reader_only, "x", prints, 1, 0, 1e-4, existing), RL_ERR_READ_ONLY);
    rl_gallery_close(reader_only);
    rl_gallery_close(g);
    rl_gallery_close(g); /* closed twice: ignored */
    EXPECT(rl_gallery_count(g, &count64), RL_ERR_INVALID_ARGUMENT);

    /* A gallery that lost its segments: searches fail unless a partial search is asked for. */
    DIR *folder = opendir(gallery_dir);
    int removed = 0;
    for (struct dirent *e; folder != NULL && (e = readdir(folder)) != NULL;) {
        size_t len = strlen(e->d_name);
        if (len > 4 && strcmp(e->d_name + len - 4, ".seg") == 0) {
            char segment_path[4096];
            snprintf(segment_path, sizeof segment_path, "%s/%s", gallery_dir, e->d_name);
            removed += remove(segment_path) == 0;
        }
    }
    if (folder != NULL) closedir(folder);
    if (removed == 0) {
        fprintf(stderr, "FAIL: no segment of %s could be removed\n", gallery_dir);
        failures++;
    }
    rl_gallery *damaged = NULL;
    EXPECT(rl_gallery_open(gallery_dir, RL_OPEN_READ_ONLY, &damaged), RL_OK);
    EXPECT(rl_gallery_identify(damaged, good, 5, &cands, &ncands), RL_ERR_DAMAGED);
    rl_gallery_close(damaged);
    EXPECT(rl_gallery_open(gallery_dir, RL_OPEN_READ_ONLY | RL_OPEN_ALLOW_PARTIAL, &damaged), RL_OK);
    EXPECT(rl_gallery_identify(damaged, good, 5, &cands, &ncands), RL_PARTIAL);
    if (ncands != 0 || cands != NULL) {
        fprintf(stderr, "FAIL: the partial search found %zu candidates in an empty remainder\n", ncands);
        failures++;
    }
    rl_candidates_free(cands, ncands);
    rl_gallery_close(damaged);

    /* Readers. */
    rl_reader *r = NULL;
    EXPECT(rl_reader_open(NULL, &r), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_reader_open("bogus-spec", &r), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_reader_open("virtual:/nonexistent/folder", &r), RL_ERR_NO_DEVICE);
    EXPECT(rl_reader_capture(NULL, 100, &buf, &count32, &count32, &count32), RL_ERR_INVALID_ARGUMENT);
    EXPECT(rl_reader_cancel(NULL), RL_ERR_INVALID_ARGUMENT);
    rl_reader_close(NULL);

    rl_template_free(good);
    rl_template_free(good); /* freed twice: ignored */
    rl_template_free(NULL);
    EXPECT(rl_template_quality(good, &quality), RL_ERR_INVALID_ARGUMENT);

    if (failures) {
        fprintf(stderr, "%d failures\n", failures);
        return 1;
    }
    printf("bad_input: all checks passed\n");
    return 0;
}
