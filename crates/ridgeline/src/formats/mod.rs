//! Interchange formats: ISO/IEC 19794-2, ANSI INCITS 378, WSQ, ANSI/NIST-ITL (issue #4).
