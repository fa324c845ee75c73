"""Real-chat evaluation data: converters for public real customer-service chats.

Their text is NOT ours: the JDDC sample is research-only — it is converted on the fly into
bench/real/ (git-ignored), used for measuring only, never committed and never trained on.
Only labels (conversation id, seq, label) are committed (bench/real_labels/).
"""
