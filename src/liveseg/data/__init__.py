"""liveseg.data"""
