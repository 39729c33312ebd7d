//! SQLite backend of the store. (being written)
