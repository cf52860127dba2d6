//! ZooKeeper wire: four-letter-word client and parsers.
