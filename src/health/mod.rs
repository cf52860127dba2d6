//! Pure: member observations -> ensemble assessment.
