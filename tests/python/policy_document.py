"""The policy's `compute_row_checksum` and `validate_csv_integrity`, copied
verbatim from the policy document's code blocks (between the markers: not a
character changed), so the interchangeability tests run the policy's own
code on any clone. `test_policy.py` checks the copy against the document
wherever the document is found beside the repository.

The document's code uses a module-level `logger`, which it does not define.
"""
import logging

logger = logging.getLogger("policy-document")

# --- verbatim from the policy document ---
import hashlib
import csv
from typing import List, Dict, Any

def compute_row_checksum(row_data: Dict[str, Any], exclude_column: str = 'checksum_sha256') -> str:
    """Compute SHA-256 checksum for a CSV row."""
    # Create ordered string of all values except checksum column
    ordered_values = []
    for key, value in sorted(row_data.items()):
        if key != exclude_column:
            ordered_values.append(str(value))
    
    # Join values and compute hash
    row_string = '|'.join(ordered_values)
    return hashlib.sha256(row_string.encode('utf-8')).hexdigest()

def validate_csv_integrity(file_path: str) -> bool:
    """Validate CSV file integrity."""
    try:
        with open(file_path, 'r') as f:
            reader = csv.DictReader(f)
            prev_seq = 0
            
            for row in reader:
                # Check sequence ordering
                current_seq = int(row['file_seq'])
                if current_seq <= prev_seq:
                    raise ValueError(f"Sequence violation: {current_seq} <= {prev_seq}")
                
                # Verify checksum
                stored_checksum = row.pop('checksum_sha256')
                computed_checksum = compute_row_checksum(row)
                if stored_checksum != computed_checksum:
                    raise ValueError(f"Checksum mismatch in seq {current_seq}")
                
                prev_seq = current_seq
                
        return True
    except Exception as e:
        logger.error(f"CSV integrity validation failed: {e}")
        return False
# --- end verbatim ---
