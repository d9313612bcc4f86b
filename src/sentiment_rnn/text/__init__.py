"""Text: cleaning rules, stopword lists, and the trained tokenizer."""
